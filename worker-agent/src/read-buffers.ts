/**
 * A job's pipes are read into buffers Node allocates for every read (64 KB each), and V8 frees
 * them only at a collection, which it starts for such memory only once 64 MB of it have piled
 * up. A job that writes as fast as it can leaves that much garbage behind at every moment: a
 * 1 GB job raised tether-agent's peak by 40 MB. A young-generation collection after every 8 MB
 * read frees them (0.1–0.2 ms each, about 16 ms per GB) and keeps the peak within about 16 MB
 * of idle.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const EVERY = 8 * 1024 * 1024;

type Collect = () => void;
let collect: Collect | null | undefined;
let read = 0;

/** V8's gc function, exposed to a new context only: nothing else in the process sees it. */
function collector(): Collect | null {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as ((o: { type: "minor" }) => void) | undefined;
    return typeof gc === "function" ? () => gc({ type: "minor" }) : null;
  } catch {
    return null;
  }
}

/** `bytes` of a job's output were read. */
export function noteRead(bytes: number): void {
  read += bytes;
  if (read < EVERY) return;
  read = 0;
  collect ??= collector();
  collect?.();
}
