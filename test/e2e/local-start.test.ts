/**
 * `npm start` as a person meets it: dist/start.mjs run in a directory of its own, signalled the
 * way a terminal does (its whole process group), used through the built CLI.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../src/local/paths.js";
import { COMMAND_MS, commandOutput } from "./harness.js";

const root = repoRoot();
const dirs: string[] = [];
const procs: ChildProcess[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) killTree(p.pid!);
  for (const s of servers) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "tether-start-"));
  dirs.push(d);
  return d;
}

interface Started {
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  err(): string;
  /** Everything it wrote to stdout so far (the banner). */
  out(): string;
  /** Resolves once stderr matches. */
  until(re: RegExp): Promise<void>;
  exited: Promise<number | null>;
}

/** dist/start.mjs in `cwd`, in a process group of its own as a terminal's foreground job is. */
function start(cwd: string, env: Record<string, string | undefined> = {}): Started {
  const child = spawn(process.execPath, [join(root, "dist", "start.mjs")], {
    cwd,
    detached: true,
    env: { ...process.env, PORT: "0", TETHER_URL: undefined, TETHER_TOKEN: undefined, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  procs.push(child);
  let err = "";
  const waiters: { re: RegExp; resolve(): void }[] = [];
  const check = () => {
    for (const w of waiters.splice(0)) (w.re.test(err) ? w.resolve() : waiters.push(w));
  };
  child.stderr!.on("data", (b: Buffer) => {
    err += b.toString();
    check();
  });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    err: () => err,
    out: () => out,
    until: (re) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ re, resolve });
        check();
        void exited.then((code) => reject(new Error(`start.mjs exited (${code}) before ${re}:\n${err}`)));
      }),
    exited,
  };
}

const ready = (s: Started) => s.until(/ connected to agent local /);

/** The built CLI, from `cwd`, with no connection settings but what it finds there. */
function tether(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [join(root, "bin", "tether.mjs"), ...args], {
    cwd,
    env: { ...process.env, TETHER_URL: "", TETHER_TOKEN: "" },
    encoding: "utf8",
    timeout: COMMAND_MS,
  });
}

function tetherLive(cwd: string, ...args: string[]) {
  const child = spawn(process.execPath, [join(root, "bin", "tether.mjs"), ...args], { cwd, env: { ...process.env, TETHER_URL: "", TETHER_TOKEN: "" } });
  procs.push(child);
  let out = "";
  let err = "";
  const started = new Promise<void>((resolve) =>
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (/started[^\n]*\n/.test(out)) resolve();
    }),
  );
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { started, exited, out: () => out, err: () => err };
}

function killTree(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

function hostOf(s: Started): number {
  const pid = Number(commandOutput("pgrep", ["-P", String(s.child.pid), "-f", "tether-agent"]).trim());
  expect(pid).toBeGreaterThan(0);
  return pid;
}

/** Whether the process runs; one that has exited but waits to be reaped does not. */
function running(pid: number): boolean {
  const stat = commandOutput("ps", ["-o", "stat=", "-p", String(pid)]).trim();
  return stat !== "" && !stat.startsWith("Z");
}

async function waitUntil(ok: () => boolean, ms = 20_000): Promise<void> {
  for (const deadline = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 25))) {
    if (Date.now() > deadline) throw new Error("timed out");
  }
}

/** Processes running in `dir` (the control plane's and workerd's included): Linux's /proc. */
function runningIn(dir: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/cwd`) === dir && running(Number(p));
      } catch {
        return false; // gone, or not ours to read
      }
    })
    .map(Number);
}

/** A pid that belonged to a process and now belongs to none. */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ["-e", ""]);
  await new Promise((r) => p.once("exit", r));
  return p.pid!;
}

/** Holds a port the way another program would; if something already holds it, that does as well. */
function hold(port: number): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(port));
    srv.listen(port, "127.0.0.1", () => {
      servers.push(srv);
      resolve((srv.address() as { port: number }).port);
    });
  });
}

describe("npm start", () => {
  const dir = tempDir();
  let first: Started;

  it("says which port it took when 8787 is held by another program", async () => {
    await hold(8787);
    first = start(dir, { PORT: undefined });
    await ready(first);
    const { url } = JSON.parse(readFileSync(join(dir, ".tether", "start.lock"), "utf8")) as { url: string };
    expect(new URL(url).port).not.toBe("8787");
    expect(first.err()).toContain(`port 8787 is in use by another program`);
    expect(first.err()).toContain(`listens on port ${new URL(url).port} instead`);
    // The banner points at the dashboard on the port it took.
    await expect.poll(() => first.out()).toContain(`dashboard      ${url}/ `);
  });

  it("refuses a PORT that is taken, rather than move elsewhere", async () => {
    const port = await hold(0);
    // A lock whose pid went to another program since (here, this test's): not an npm start, so no holder.
    const d = tempDir();
    mkdirSync(join(d, ".tether"));
    writeFileSync(join(d, ".tether", "start.lock"), JSON.stringify({ pid: process.pid, started_at: "2026-01-01T00:00:00Z" }));
    const other = start(d, { PORT: String(port) });
    expect(await other.exited).toBe(1);
    expect(other.err()).toContain(`PORT=${port} is in use by another program`);
  });

  it("runs once per state directory: a second start says where the first listens and exits 1", async () => {
    const { pid, url } = JSON.parse(readFileSync(join(dir, ".tether", "start.lock"), "utf8")) as { pid: number; url: string };
    expect(pid).toBe(first.child.pid);
    const second = start(dir);
    expect(await second.exited).toBe(1);
    expect(second.err()).toContain(`pid ${pid}, listening on ${url}`);
    // The first is untouched, and still the one the CLI reaches.
    const r = tether(dir, "run", "local", "--", "echo", "still here");
    expect(r.stdout).toBe("still here\n");
    expect(r.status).toBe(0);
  });

  it("restarts tether-agent when it dies, and jobs run on the new one", async () => {
    const hostPid = hostOf(first);
    process.kill(hostPid, "SIGKILL");
    await first.until(new RegExp(`tether-agent \\(pid ${hostPid}\\) was killed by SIGKILL; restarting it`));
    await first.until(/restarting it[^]* connected to agent local /);
    const r = tether(join(dir, ".tether"), "run", "local", "--", "echo", "after the restart");
    expect(r.stdout).toBe("after the restart\n");
    expect(r.status).toBe(0);
  });

  it("Ctrl-C lets a running job finish, as it says, then stops and releases the state", async () => {
    const release = join(dir, "release");
    const job = tetherLive(dir, "run", "local", "--", "sh", "-c", `echo started; while [ ! -e ${release} ]; do sleep 0.05; done; echo finished`);
    await job.started;
    process.kill(-first.child.pid!, "SIGINT");
    await first.until(/SIGINT: stopping\. The host takes no new jobs and lets running ones finish/);
    await first.until(/draining: no new jobs; 1 running job\(s\) may finish/);
    writeFileSync(release, "");
    expect(await job.exited).toBe(0);
    expect(job.out()).toBe("started\nfinished\n");
    expect(await first.exited).toBe(0);
    expect(existsSync(join(dir, ".tether", "start.lock"))).toBe(false);
  });

  it("takes over the lock of a start that died, and a second Ctrl-C cancels running jobs (agent_stop)", async () => {
    const d = tempDir();
    mkdirSync(join(d, ".tether"));
    const dead = await deadPid();
    writeFileSync(join(d, ".tether", "start.lock"), JSON.stringify({ pid: dead, url: "http://127.0.0.1:1", started_at: "2026-01-01T00:00:00Z" }));
    const s = start(d);
    await ready(s);
    expect(JSON.parse(readFileSync(join(d, ".tether", "start.lock"), "utf8"))).toMatchObject({ pid: s.child.pid });
    // What becomes of the run (cancelled, or queued again) is the edge's retry policy; what npm
    // start promises is that the job is stopped, with that reason, and everything then stops.
    const job = tetherLive(d, "run", "local", "--", "sh", "-c", "echo started $$; exec sleep 1000");
    await job.started;
    const jobPid = Number(/started (\d+)/.exec(job.out())![1]);
    process.kill(-s.child.pid!, "SIGINT");
    await s.until(/draining: no new jobs; 1 running job\(s\) may finish/);
    expect(running(jobPid)).toBe(true);
    process.kill(-s.child.pid!, "SIGINT");
    await s.until(/SIGINT: cancelling the running jobs \(reason agent_stop\)/);
    await s.until(/cancelling 1 running job\(s\) \(agent_stop\)/);
    expect(await s.exited).toBe(0);
    expect(running(jobPid)).toBe(false);
    expect(existsSync(join(d, ".tether", "start.lock"))).toBe(false);
  });

  it("Ctrl-C while it starts stops the control plane too, before it exits and frees the state", async () => {
    const d = tempDir();
    const s = start(d);
    // The control plane's process is up and workerd is starting: well before the host is.
    await waitUntil(() => spawnSync("pgrep", ["-P", String(s.child.pid), "-f", "plane.mjs"], { timeout: COMMAND_MS }).status === 0);
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(-s.child.pid!, "SIGINT");
    expect(await s.exited).toBe(0);
    expect(runningIn(d)).toEqual([]);
    expect(existsSync(join(d, ".tether", "start.lock"))).toBe(false);
  });

  it("gives up on a host that keeps dying, and stops the control plane too", async () => {
    const d = tempDir();
    const s = start(d);
    await ready(s);
    for (let restart = 1; restart <= 5; restart++) {
      process.kill(hostOf(s), "SIGKILL");
      await s.until(new RegExp(`( connected to agent local [^]*){${restart + 1}}`));
    }
    process.kill(hostOf(s), "SIGKILL");
    await s.until(/its 6th exit within 60 s; not restarting it again/);
    expect(await s.exited).toBe(1);
    expect(existsSync(join(d, ".tether", "start.lock"))).toBe(false);
  });
});
