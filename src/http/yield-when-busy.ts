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
/**
 * A call whose client went away may never reach its `finally`: the runtime drops what it was
 * waiting on. Past the longest a call may be held (a wait, 60 s), it no longer counts.
 */
const HELD_MAX_MS = 120_000;
const started = new Set<{ at: number }>();

export function yieldWhenBusy(): MiddlewareHandler {
  return async function yieldWhenBusy(_c, next) {
    const call = { at: Date.now() };
    started.add(call);
    try {
      if (busy(call.at)) await new Promise((resolve) => setTimeout(resolve, 0));
      await next();
    } finally {
      started.delete(call);
    }
  };
}

function busy(now: number): boolean {
  if (started.size <= BUSY) return false;
  for (const c of started) if (now - c.at > HELD_MAX_MS) started.delete(c);
  return started.size > BUSY;
}
