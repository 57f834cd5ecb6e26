/**
 * The sandbox: bubblewrap (bwrap), where it is installed and works. A job sees the system's
 * programs and libraries read-only, a /tmp, /proc and /dev of its own, its attempt's directory
 * as cwd and HOME, and the owner's workspace if the policy names one; nothing of tether-agent's
 * directory, home, config or keys. In its own PID namespace it cannot see or signal the host or
 * other jobs, and when its first process exits every process it started dies with it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync } from "node:fs";
import type { Isolation, Policy } from "./policy.js";

/** Where the attempt's directory appears inside the sandbox. */
export const SANDBOX_HOME = "/job";

/** Readable by root-owned jobs though they hold nothing a job needs: hidden. */
const SECRET_FILES = ["/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/security/opasswd"];
const SECRET_DIRS = ["/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d"];

/** The system part of the filesystem: the merged-/usr links stay links, real directories are bound read-only. */
function systemMounts(): string[] {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const dir of ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) {
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push("--symlink", `usr${dir}`, dir);
    else if (st.isDirectory()) args.push("--ro-bind", dir, dir);
  }
  args.push("--ro-bind", "/etc", "/etc");
  for (const f of SECRET_FILES) if (existsSync(f)) args.push("--ro-bind", "/dev/null", f);
  for (const d of SECRET_DIRS) if (existsSync(d)) args.push("--tmpfs", d);
  // Where /etc/resolv.conf points on systemd hosts; without it a job with network has no DNS.
  args.push("--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve");
  return args;
}

export function bwrapArgs(opts: { policy: Policy; workdir: string; command: string; args: string[] }): string[] {
  const { policy } = opts;
  const a = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session", "--cap-drop", "ALL"];
  if (!policy.network) a.push("--unshare-net");
  a.push(...systemMounts(), "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp");
  a.push("--bind", opts.workdir, SANDBOX_HOME);
  if (policy.workspace && policy.access !== "none") a.push(policy.access === "rw" ? "--bind" : "--ro-bind", policy.workspace, policy.workspace);
  a.push("--chdir", SANDBOX_HOME, "--", opts.command, ...opts.args);
  return a;
}

/**
 * Whether bwrap is here and can make its namespaces (it may be installed but refused them, e.g.
 * unprivileged user namespaces switched off): a real, tiny sandboxed run decides.
 */
export function detectSandbox(): Isolation {
  if (process.platform !== "linux") return { kind: "none", detail: `bubblewrap needs Linux (this is ${process.platform})` };
  const probe = spawnSync("bwrap", [...bwrapArgs({ policy: { network: false, access: "none", workspace: null } as Policy, workdir: "/tmp", command: "true", args: [] })], {
    stdio: ["ignore", "ignore", "pipe"],
    timeout: 10_000,
    env: { PATH: "/usr/bin:/bin" },
  });
  if (probe.error) return { kind: "none", detail: (probe.error as NodeJS.ErrnoException).code === "ENOENT" ? "bubblewrap (bwrap) is not installed" : `bwrap: ${probe.error.message}` };
  if (probe.status !== 0) return { kind: "none", detail: `bwrap cannot make a sandbox here: ${probe.stderr.toString().trim().slice(0, 300)}` };
  const which = spawnSync("sh", ["-c", "command -v bwrap"], { encoding: "utf8" }).stdout.trim();
  return { kind: "bubblewrap", detail: which || "bwrap" };
}
