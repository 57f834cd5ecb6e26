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
    allowed.set(found.real, entry);
  }
  return allowed;
}

/** `path` as found through PATH, `real` the file it is: what the check judged, and what to exec. */
export type Verdict = { ok: true; path: string; real: string } | { ok: false; error: string };

/**
 * The program a job's argv[0] names, looked up through the job's own PATH from its working
 * directory, and whether the policy lets it run. `path` is what to execute: the file found,
 * not the name, so nothing can be swapped in between the check and the exec.
 */
export function judgeProgram(policy: Policy, allowed: Allowed, argv0: string, jobPath: string | undefined, cwd: string, approved = false): Verdict {
  const found = findProgram(argv0, jobPath, cwd);
  if (policy.security === "full") {
    return found ? { ok: true, ...found } : { ok: false, error: `${argv0}: not found${argv0.includes("/") ? "" : " in PATH"} (ENOENT)` };
  }
  if (policy.security === "deny") return { ok: false, error: `refused by host policy: ${argv0}: security = "deny" refuses every command` };
  if (!found) return { ok: false, error: `refused by host policy: ${argv0}: not found${argv0.includes("/") ? "" : " in the job's PATH"}, so not on the allowlist (security = "allowlist")` };
  // A person approved this run, and this host's owner lets a person decide (ask is not "off").
  if (allowed.has(found.real) || (approved && policy.ask !== "off")) return { ok: true, ...found };
  const list = [...allowed.values()].join(", ") || "nothing";
  return { ok: false, error: `refused by host policy: ${argv0} resolves to ${found.real}, which is not on the allowlist (security = "allowlist", allow = ${list})` };
}

/** Like execvp: a name with a slash is a path, any other is looked up in PATH. */
function findProgram(name: string, path: string | undefined, cwd: string): { path: string; real: string } | null {
  if (name.includes("\0")) return null;
  const candidates = name.includes("/") ? [resolve(cwd, name)] : (path ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter).map((dir) => join(isAbsolute(dir) ? dir : resolve(cwd, dir || "."), name));
  for (const candidate of candidates) {
    try {
      // Most candidates are missing: no exception made for each.
      if (!statSync(candidate, { throwIfNoEntry: false })?.isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return { path: candidate, real: realpathSync(candidate) };
    } catch {
      /* not this one */
    }
  }
  return null;
}
