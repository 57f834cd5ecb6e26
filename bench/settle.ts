/**
 * Writes left from earlier work (a deleted temp dir, the last system's state, the tests) slow
 * every commit made while the kernel flushes them, the object floor's most: a timed phase that
 * commits to disk starts once they are on disk.
 */
import { execFileSync } from "node:child_process";

export function settleDisk(): void {
  try {
    execFileSync("sync", { stdio: "ignore", timeout: 60_000 });
  } catch {
    /* no sync here: the phase runs as the disk is */
  }
}
