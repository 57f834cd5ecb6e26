/**
 * Under a burst of calls, each lets the runtime read its other sockets before it starts.
 *
 * The local runtime serves every connection on one thread and looks for new input only when it
 * has nothing else to run. Kept-alive clients whose next call is always waiting keep it busy, so
 * a host's control socket went unread for as long as the burst lasted: 9,000 submits, 32 at a
 * time, held a host's frames and pings for 8 s, and it stopped its jobs as a partition would, to
 * run them again. A timer makes the runtime look at its sockets (and its alarms) before the call
 * goes on. A call with few others in flight does not wait: dispatch latency is not paid for it.
 */
import type { MiddlewareHandler } from "hono";

/** Calls being handled in this isolate at once, past which each yields first. */
const BUSY = 4;
let inFlight = 0;

export function yieldWhenBusy(): MiddlewareHandler {
  return async function yieldWhenBusy(_c, next) {
    inFlight++;
    try {
      if (inFlight > BUSY) await new Promise((resolve) => setTimeout(resolve, 0));
      await next();
    } finally {
      inFlight--;
    }
  };
}
