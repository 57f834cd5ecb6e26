/** tether-agent: runs an agent's jobs on this machine. */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { resolveAllowed } from "./allowlist.js";
import { Host } from "./host.js";
import { closeHostSafety, configureHostSafety } from "./launch.js";
import { logger, type Logger } from "./log.js";
import { hostRefusal, loadPolicy, policySummary, type PolicyFlags } from "./policy.js";
import { detectSandbox } from "./sandbox.js";
import { defaultWorkRoot, prepareWorkRoot, sweepStale } from "./workdir.js";

const VERSION = "0.1.0";

const USAGE = `usage: tether-agent --url URL --token HOST_TOKEN [--slots N] [--host-id ID] [--grace-ms MS] [--drain-timeout-ms MS]

  --url        the Tether control plane (env TETHER_URL)
  --token      the agent's host token (env TETHER_HOST_TOKEN)
  --slots      how many jobs to run at once (default 4)
  --host-id    this host's name at the edge (default hostname plus a random suffix)
  --grace-ms   after SIGTERM, how long a cancelled job has before SIGKILL (default 10000)
  --drain-timeout-ms
               on SIGTERM, how long running jobs may go on before they are cancelled (default 600000)
  --quiet      log nothing
  --exit-with-parent
               stop (cancelling running jobs) when the process that started this one exits

Host policy (the owner's; a run cannot change it):
  --policy FILE      a TOML file: security, allow, ask, sandbox, network, workspace, access,
                     env_pass, redact_env, keep_workdir, max_wall_ms, max_output_bytes,
                     max_memory_mb, max_processes. The flags below win over it; lists add up.
  --security MODE    deny | allowlist | full (default allowlist: only --allow'ed programs run)
  --ask MODE         off | on-miss | always (default on-miss: a program not allowed waits for a
                     person to approve it, tether approve <run>; off: it is refused)
  --allow PROGRAM    a program jobs may start, by name (looked up in PATH now) or path; repeatable
  --sandbox MODE     required | preferred | off (default preferred: bubblewrap where installed)
  --no-network       jobs get no network (needs the sandbox)
  --workspace DIR    a directory jobs may use (read-write unless the file says access = "ro")
  --env-pass NAME    a variable of this process to pass on to jobs; repeatable
  --label KEY=VALUE  a label of this host (os=linux, gpu=true); runs that require labels come
                     only to hosts with them all; repeatable
  --work-dir DIR     where each attempt gets its own fresh directory
                     (default $XDG_STATE_HOME/tether-agent, else $TMPDIR/tether-agent-<uid>)

Signals: SIGTERM or SIGINT takes no new jobs and lets running ones finish (up to the drain
timeout); a second one, or SIGQUIT, cancels running jobs (reason agent_stop) and exits.`;

/** After the jobs are gone, how long their last output may take to reach the edge before we leave anyway. */
const FLUSH_MS = 10_000;

function main(): void {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      token: { type: "string" },
      slots: { type: "string" },
      "host-id": { type: "string" },
      "grace-ms": { type: "string" },
      "drain-timeout-ms": { type: "string" },
      "exit-with-parent": { type: "boolean" },
      quiet: { type: "boolean" },
      policy: { type: "string" },
      security: { type: "string" },
      allow: { type: "string", multiple: true },
      sandbox: { type: "string" },
      ask: { type: "string" },
      "no-network": { type: "boolean" },
      workspace: { type: "string" },
      "env-pass": { type: "string", multiple: true },
      label: { type: "string", multiple: true },
      "work-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (values.version) return void console.log(VERSION);
  const url = values.url ?? process.env.TETHER_URL;
  const token = values.token ?? process.env.TETHER_HOST_TOKEN;
  // Jobs are started from a clean environment anyway; this keeps the credential out of anything
  // that copies process.env later. The kernel's copy (/proc/<pid>/environ) stays: only the
  // sandbox's PID namespace hides that from jobs.
  delete process.env.TETHER_HOST_TOKEN;
  // A --token on the command line is readable by any process of this user (/proc/<pid>/cmdline,
  // ps) until it is overwritten; setting the title overwrites it in place.
  if (values.token) process.title = ["tether-agent", ...process.argv.slice(2).map((a) => a.replace(values.token!, "[hidden]"))].join(" ");
  if (!url || !token) {
    console.error(`tether-agent: --url and --token are required\n\n${USAGE}`);
    process.exit(2);
  }
  const slots = positiveInt(values.slots ?? "4", "--slots");
  const graceMs = positiveInt(values["grace-ms"] ?? "10000", "--grace-ms");
  const drainMs = positiveInt(values["drain-timeout-ms"] ?? "600000", "--drain-timeout-ms");
  const hostId = values["host-id"] ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 100)}-${randomBytes(3).toString("hex")}`;
  const log = logger(hostId, values.quiet);
  const policy = configureSafety(values, log);
  const labels = hostLabels(values.label ?? []);
  let host: Host;
  const fatal = (reason: string) => {
    console.error(`tether-agent: ${reason}`);
    host.killAll();
    process.exit(3);
  };
  try {
    host = new Host({ url, token, hostId, slots, graceMs, version: VERSION, log, policy, labels, fatal });
  } catch (err) {
    console.error(`tether-agent: ${(err as Error).message}`);
    process.exit(2);
  }
  void host.start();

  let stops = 0;
  const stop = async (signal: string, cancel: boolean) => {
    if (++stops > 1 || cancel) {
      log(`${signal}: cancelling ${host.running} running job(s) (agent_stop)`);
      host.cancelAll("agent_stop");
      if (stops > 1) return;
    } else {
      log(`${signal}: draining: no new jobs; ${host.running} running job(s) may finish (Ctrl-C or SIGTERM again to cancel them)`);
      host.drain();
      setTimeout(() => {
        log(`drain timeout (${drainMs} ms): cancelling what still runs`);
        host.cancelAll("agent_stop");
      }, drainMs).unref();
    }
    await host.processesGone();
    // Every end should now reach the edge; the cap is for an edge that cannot be reached.
    const flushed = await Promise.race([host.idle().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), FLUSH_MS))]);
    if (!flushed) log(`leaving with ${host.pending} attempt(s) not yet confirmed by the control plane`);
    await host.close();
    // The process made ahead goes with its directory now: its exit would be heard after this one's.
    closeHostSafety();
    log("stopped");
    process.exit(0);
  };
  // Whatever ends this process, no job is left running without a host to report it.
  process.on("exit", () => (host.killAll(), closeHostSafety()));
  process.stderr.on("error", () => {}); // a parent that stopped reading our log must not take us down
  process.on("SIGINT", () => void stop("SIGINT", false));
  process.on("SIGTERM", () => void stop("SIGTERM", false));
  process.on("SIGQUIT", () => void stop("SIGQUIT", true));
  if (values["exit-with-parent"]) {
    // A supervisor killed outright cannot stop us; its going shows as a new parent.
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      void stop("parent exited", true);
    }, 500);
    watch.unref();
  }
}

/** Loads the owner's policy, finds the sandbox and says at start what jobs will get. */
function configureSafety(values: PolicyFlags & { "work-dir"?: string }, log: Logger): ReturnType<typeof policySummary> {
  try {
    const policy = loadPolicy(values);
    const isolation = policy.sandbox === "off" ? { kind: "none" as const, detail: 'sandbox = "off"' } : detectSandbox();
    const allowed = resolveAllowed(policy, process.env.PATH, process.cwd());
    const workRoot = prepareWorkRoot(values["work-dir"] ?? defaultWorkRoot(process.env));
    const stale = sweepStale(workRoot);
    if (stale.length) log(`removed ${stale.length} working director${stale.length === 1 ? "y" : "ies"} left by hosts that are gone`);
    configureHostSafety({ policy, allowed, isolation, workRoot }, log);
    const s = policySummary(policy, isolation);
    log(`host policy: security=${s.security} ask=${s.ask} sandbox=${s.sandbox} network=${s.network} workspace=${s.workspace_access}${policy.security === "allowlist" ? ` allow=[${policy.allow.join(", ")}]` : ""}; work dir ${workRoot}`);
    if (s.sandbox === "none") {
      log(`no sandbox (${isolation.detail}): jobs run as this user, in a fresh directory with a clean environment, but can read what this user can (files, /proc/<pid>/environ and cmdline of this process included) and signal this process`);
    }
    const refusal = hostRefusal(policy, isolation);
    if (refusal) log(`every job will be refused: ${refusal}`);
    return s;
  } catch (err) {
    console.error(`tether-agent: ${(err as Error).message}`);
    process.exit(2);
  }
}

function positiveInt(s: string, name: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`tether-agent: ${name} must be a positive whole number`);
    process.exit(2);
  }
  return n;
}

main();

/** --label key=value, repeatable: what runs' `requires` match against. */
function hostLabels(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    const key = item.slice(0, eq);
    if (eq < 1 || !/^[A-Za-z0-9._/-]{1,64}$/.test(key)) {
      console.error(`tether-agent: --label takes key=value (a key of A-Z a-z 0-9 . _ / -), not ${JSON.stringify(item)}`);
      process.exit(2);
    }
    out[key] = item.slice(eq + 1);
  }
  return out;
}
