/**
 * Writes left from earlier work (a deleted temp dir, the last system's state, the tests) slow
 * every commit made while the kernel flushes them, the object floor's most: a timed phase that
 * commits to disk starts once they are on disk. Waited for, not run synchronously: this process
 * also runs Miniflare for the control plane and supervises its host, which must not stall.
 */
import { execFile } from "node:child_process";

export function settleDisk(): Promise<void> {
  return new Promise((resolve) => {
    // No sync here, or one that fails: the phase runs as the disk is.
    execFile("sync", { timeout: 60_000 }, () => resolve());
  });
}
