/**
 * Which programs a job may start. Names are compared as the real files they are, never as
 * spelled: a job can rename, symlink or put a directory first in its PATH, and it still runs
 * the same file. So the allowlist and every argv[0] are resolved to real paths
 * (fs.realpathSync) and compared; a shell runs only if that shell is allowed, and an
 * interpreter given a script is judged as the interpreter.
 *
 * Only argv[0] is judged: a program that runs others on its arguments (sh, env, xargs, find,
 * git with its aliases and hooks, any interpreter) allows whatever it can run. Allow those
 * only where that is meant.
 */
import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import type { Policy } from "./policy.js";

/** Real path of an allowed program → the policy entry that allowed it. */
export type Allowed = Map<string, string>;

/** Resolved once at start; an entry that names nothing is the owner's mistake and stops the host. */
export function resolveAllowed(policy: Policy, path: string | undefined, cwd: string): Allowed {
  const allowed: Allowed = new Map();
  for (const entry of policy.allow) {
    const found = findProgram(entry, path, cwd);
    if (!found) throw new Error(`allow: "${entry}" is not an executable file${entry.includes("/") ? "" : " in PATH"}`);
    allowed.set(realpathSync.native(found), entry);
  }
  return allowed;
}

/**
 * `path` as found through PATH; `real()` the file it is: under an allowlist, the file the check
 * judged and what to exec. Under `full` it is resolved only for a job that needs it (one that
 * is not handed to the shell made ahead), which saves each job a resolution on its way to start.
 */
export type Verdict = { ok: true; path: string; real(): string } | { ok: false; error: string };

/**
 * The program a job's argv[0] names, looked up through the job's own PATH from its working
 * directory, and whether the policy lets it run. `path` is what to execute: the file found,
 * not the name, so nothing can be swapped in between the check and the exec.
 */
export function judgeProgram(policy: Policy, allowed: Allowed, argv0: string, jobPath: string | undefined, cwd: string, approved = false): Verdict {
  const found = findProgram(argv0, jobPath, cwd);
  if (policy.security === "full") {
    return found ? { ok: true, path: found, real: () => realOr(found) } : { ok: false, error: `${argv0}: not found${argv0.includes("/") ? "" : " in PATH"} (ENOENT)` };
  }
  if (policy.security === "deny") return { ok: false, error: `refused by host policy: ${argv0}: security = "deny" refuses every command` };
  if (!found) return { ok: false, error: `refused by host policy: ${argv0}: not found${argv0.includes("/") ? "" : " in the job's PATH"}, so not on the allowlist (security = "allowlist")` };
  let real: string;
  try {
    real = realpathSync.native(found);
  } catch {
    return { ok: false, error: `refused by host policy: ${argv0}: ${found} vanished while it was judged` };
  }
  // A person approved this run, and this host's owner lets a person decide (ask is not "off").
  if (allowed.has(real) || (approved && policy.ask !== "off")) return { ok: true, path: found, real: () => real };
  const list = [...allowed.values()].join(", ") || "nothing";
  return { ok: false, error: `refused by host policy: ${argv0} resolves to ${real}, which is not on the allowlist (security = "allowlist", allow = ${list})` };
}

/** Gone meanwhile: the path as found, whose exec then fails and says so. */
function realOr(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

/**
 * Where a name was last found through a PATH, for a moment: most of a job's lookup is the
 * directories before the one that holds it (a statx each, found missing), and a host runs the
 * same few programs over and over. A program put earlier in PATH is seen a moment later, as a
 * shell's own hash of PATH lookups would see it only after `hash -r`.
 */
const FOUND_FOR_MS = 1_000;
const FOUND_MAX = 256;
const foundBefore = new Map<string, { path: string; at: number }>();

/** Like execvp: a name with a slash is a path, any other is looked up in PATH. */
function findProgram(name: string, path: string | undefined, cwd: string): string | null {
  if (name.includes("\0")) return null;
  if (name.includes("/")) {
    const file = resolve(cwd, name);
    return runnable(file) ? file : null;
  }
  const search = path ?? "/usr/local/bin:/usr/bin:/bin";
  const dirs = search.split(delimiter);
  // A relative entry means a different place from each job's directory: looked up each time.
  const key = dirs.every(isAbsolute) ? `${search}\0${name}` : null;
  const seen = key === null ? undefined : foundBefore.get(key);
  if (seen && Date.now() - seen.at < FOUND_FOR_MS && runnable(seen.path)) return seen.path;
  for (const dir of dirs) {
    const candidate = join(isAbsolute(dir) ? dir : resolve(cwd, dir || "."), name);
    if (!runnable(candidate)) continue;
    if (key !== null) {
      foundBefore.delete(key);
      foundBefore.set(key, { path: candidate, at: Date.now() });
      if (foundBefore.size > FOUND_MAX) foundBefore.delete(foundBefore.keys().next().value!);
    }
    return candidate;
  }
  return null;
}

/** An executable regular file (most candidates are missing: no exception made for each). */
function runnable(file: string): boolean {
  try {
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
