/** npm start: Tether on this machine, the control plane in workerd plus one host agent. */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { TetherClient } from "../client/sdk.js";
import { nodeFetch } from "../client/node-fetch.js";
import { ensureAgent, workspaceToken } from "./hosts.js";
import { superviseHost, type SupervisedHost } from "./host-supervisor.js";
import { localSigningKeys } from "./keys.js";
import { acquireStateLock } from "./lock.js";
import { choosePort, fallbackNote } from "./port.js";
import { repoRoot, stateDir } from "./paths.js";

const AGENT = "local";
/** How long the control plane may take to stop before its process group is killed. */
const PLANE_STOP_MS = 10_000;

const say = (msg: string) => process.stderr.write(`npm start: ${msg}\n`);

async function main(): Promise<void> {
  const dir = stateDir();
  const shown = relative(process.cwd(), dir) || ".";
  mkdirSync(dir, { recursive: true });
  const taken = await acquireStateLock(join(dir, "start.lock"));
  if (taken.held) {
    const where = taken.by.url ? `listening on ${taken.by.url}` : "still starting";
    say(`Tether is already running on the state in ${shown} (pid ${taken.by.pid}, ${where}).`);
    say(`Use that one (the CLI finds it through ${shown}/local.json), or stop it first: Ctrl-C in its terminal, or kill ${taken.by.pid}.`);
    process.exit(1);
  }
  const lock = taken.lock;
  let plane: Plane | undefined;
  let stopPlane: (() => Promise<void>) | undefined;
  let host: SupervisedHost | undefined;
  let stopping = false;
  const finish = async (code: number) => {
    // The plane's process too when it is still starting: the lock is not released while it runs.
    await stopPlane?.();
    lock.release();
    process.exit(code);
  };
  // Ctrl-C does what the host does with it, in the same words: drain, then cancel, then kill.
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!host) {
      // Still starting: nothing runs jobs yet.
      stopping = true;
      void finish(0);
      return;
    }
    if (stopping && interrupts === 0) return;
    stopping = true;
    interrupts++;
    if (interrupts === 1) {
      say(`${signal}: stopping. The host takes no new jobs and lets running ones finish; Ctrl-C again cancels them (reason agent_stop). Then the control plane stops.`);
      void host.signal("SIGTERM").then(() => finish(0));
    } else if (interrupts === 2) {
      say(`${signal}: cancelling the running jobs (reason agent_stop); Ctrl-C once more kills the host at once.`);
      void host.signal("SIGTERM");
    } else {
      say(`${signal}: killing the host; its jobs die with it.`);
      void host.signal("SIGKILL");
    }
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => onSignal(signal));

  const signingKey = localSigningKeys(join(dir, "signing-keys.json"));
  const port = await choosePort(process.env.PORT);
  const planeProcess = startPlaneProcess(join(dir, "state"), signingKey, port.port);
  stopPlane = planeProcess.stop;
  plane = await planeProcess.ready.catch((err: Error) => {
    if (stopping) return undefined; // stopped while starting, by finish
    throw err;
  });
  if (!plane || stopping) return;
  lock.update({ url: plane.url });
  const note = fallbackNote(port, plane.url);
  if (note) say(note);
  const token = await workspaceToken(signingKey, "local");
  const hostToken = await ensureAgent(new TetherClient({ url: plane.url, token, fetch: nodeFetch }), AGENT);
  if (stopping) return;
  host = superviseHost({ url: plane.url, hostToken, slots: Number(process.env.TETHER_SLOTS ?? 4), log: say });
  void host.gaveUp.then(() => {
    if (stopping) return;
    stopping = true;
    say("stopping the control plane");
    void finish(1);
  });

  try {
    await host.connected;
  } catch {
    return; // it gave up, and says so above
  }
  writeFileSync(join(dir, "local.json"), `${JSON.stringify({ url: plane.url, token }, null, 2)}\n`, { mode: 0o600 });
  console.log(banner(plane, shown));
}

function banner(plane: Plane, dir: string): string {
  return `
Tether is running.

  control plane  ${plane.url}   (state in ${dir}/state)
  agent          ${AGENT}, with one host on this machine
  token          in ${dir}/local.json (every scope; not printed here, so no terminal log holds it)
  dashboard      ${plane.url}/   (paste the token from local.json; API reference at ${plane.url}/docs)

Try it (the CLI reads ${dir}/local.json, from this directory or any below it):

  npx tether run ${AGENT} -- sh -c 'echo hello from $(hostname); exit 3'
  curl -s -H "Authorization: Bearer $(node -p 'require("./${dir}/local.json").token')" ${plane.url}/v1/agents/${AGENT}

Ctrl-C stops it: running jobs may finish first, and a second Ctrl-C cancels them.
`;
}

interface Plane {
  url: string;
}

/**
 * Starts dist/plane.mjs in its own process group; `ready` resolves once it says where it
 * listens. `stop` stops it at any time, while it starts too.
 */
function startPlaneProcess(persistDir: string, signingKey: string, port: number): { ready: Promise<Plane>; stop(): Promise<void> } {
  const child = spawn(process.execPath, [join(repoRoot(), "dist", "plane.mjs")], {
    detached: true,
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, TETHER_PERSIST_DIR: persistDir, TETHER_SIGNING_KEYS: signingKey, TETHER_PORT: String(port) },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = new Promise<Plane>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) {
        const { url } = JSON.parse(line!) as Plane;
        resolve({ url });
      }
    });
    child.once("exit", (code) => reject(new Error(`the control plane exited (${code}) before it was ready`)));
  });
  return {
    ready,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      // A stop has been seen to hang with workerd gone; the state is on disk either way.
      const killer = setTimeout(() => killGroup(child.pid!), PLANE_STOP_MS);
      await exited;
      clearTimeout(killer);
    },
  };
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    /* gone */
  }
}

main().catch((err: Error) => {
  say(err.stack ?? err.message);
  process.exit(1);
});
