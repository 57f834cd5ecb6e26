/**
 * Every attempt starts in an empty directory of its own, under a directory the host owns and
 * no one else may enter (0700), and it is gone after the run: nothing one job leaves is seen by
 * the next, and no job starts in tether-agent's own directory with its config and keys.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export function defaultWorkRoot(env: NodeJS.ProcessEnv): string {
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, "tether-agent");
  const uid = process.getuid?.() ?? "user";
  return join(tmpdir(), `tether-agent-${uid}`);
}

/**
 * Creates the root (or tightens it) once at start. In a shared /tmp someone else may have made
 * it first, or made it a link to a directory of theirs: only a real directory of our own will do.
 */
export function prepareWorkRoot(dir: string): string {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const st = lstatSync(root);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) throw new Error(`--work-dir ${root}: not a directory owned by this user`);
  chmodSync(root, 0o700);
  return root;
}

/**
 * Directories left by a tether-agent that died before it could remove them (SIGKILL, a crash).
 * Each is named after the pid of the host that made it; several hosts may share the root, so
 * only those whose host is gone are removed.
 */
export function sweepStale(root: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(root)) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    rmSync(join(root, name), { recursive: true, force: true, maxRetries: 2 });
    removed.push(name);
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface Workdir {
  /** The job's cwd and HOME. */
  dir: string;
  /** Its TMPDIR when it runs without a sandbox (the sandbox has a /tmp of its own). */
  tmp: string;
  remove(): void;
}

export function createWorkdir(root: string, runId: string, attempt: number): Workdir {
  const safe = runId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
  const dir = mkdtempSync(join(root, `${process.pid}-${safe}-${attempt}-`));
  chmodSync(dir, 0o700);
  const tmp = join(dir, ".tmp");
  mkdirSync(tmp, { mode: 0o700 });
  let removed = false;
  return {
    dir,
    tmp,
    remove() {
      if (removed) return;
      removed = true;
      // Most jobs leave both directories empty: two rmdirs, where rmSync would look into each first.
      try {
        rmdirSync(tmp);
        rmdirSync(dir);
        return;
      } catch {
        /* something in them, or changed: see below */
      }
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    },
  };
}
