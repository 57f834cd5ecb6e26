/**
 * The CLI's faces against the real stack: tether await and watch on a run submitted elsewhere,
 * --stdin with bytes that are not UTF-8 kept exact, shell completion, --json parseable on every
 * command that reads, and colour only on a terminal (a pseudo-terminal from script(1)) or with
 * FORCE_COLOR, never with NO_COLOR.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/help.js";
import { repoRoot } from "../../src/local/paths.js";
import { COMMAND_MS, startStack, waitFor, type Stack } from "./harness.js";

let s: Stack;
const dir = mkdtempSync(join(tmpdir(), "tether-faces-"));
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const bin = join(repoRoot(), "bin", "tether.mjs");
const env = () => ({ PATH: process.env.PATH!, TETHER_URL: s.url, TETHER_TOKEN: s.token });
const tether = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { env: env(), encoding: "utf8", timeout: 30_000 });

describe("tether await", () => {
  it("waits for a run submitted elsewhere and exits with its job's code; --json prints the run", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "exit 7"] });
    const r = tether("await", run.id);
    expect(r.status, r.stderr).toBe(7);
    expect(r.stderr).toContain(`run ${run.id} failed (exit 7)`);
    const j = tether("await", run.id, "--json");
    expect(j.status).toBe(7);
    expect(JSON.parse(j.stdout)).toMatchObject({ id: run.id, status: "failed", exit_code: 7 });
  });

  it("says an unknown run at once and exits 4", () => {
    const r = tether("await", `run_${"0".repeat(28)}_${"x"}`);
    expect(r.status).toBe(4);
  });
});

describe("tether watch", () => {
  it("prints the job's output on stdout and stderr, and its events on stderr", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "echo out; echo err >&2; exit 3"] });
    const r = tether("watch", run.id);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toContain("err\n");
    expect(r.stderr).toMatch(/\d{4}-\d\d-\d\dT\S+ \S+/); // an event line: time and type
  });

  it("--json prints one JSON line per event, output as text", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "printf 'héllo'"] });
    const r = tether("watch", run.id, "--json");
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; text?: string });
    expect(lines.filter((l) => l.type === "output").map((l) => l.text).join("")).toBe("héllo");
    expect(lines.some((l) => l.type === "state")).toBe(true);
  });
});

describe("tether run --stdin", () => {
  it("keeps bytes that are not UTF-8 exact", () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0a, ...Buffer.from("tail"), 0xe2, 0x82]);
    const file = join(dir, "binary.bin");
    writeFileSync(file, bytes);
    const r = spawnSync(process.execPath, [bin, "run", s.agent, "--stdin", file, "--", "cat"], { env: env(), timeout: 30_000 });
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(Buffer.compare(r.stdout, bytes)).toBe(0);
  });

  it("still sends UTF-8 text as it is", () => {
    const file = join(dir, "text.txt");
    writeFileSync(file, "naïve ✓\n");
    const r = spawnSync(process.execPath, [bin, "run", s.agent, "--stdin", file, "--", "cat"], { env: env(), encoding: "utf8", timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("naïve ✓\n");
  });
});

describe("tether completion", () => {
  it("prints bash, zsh and fish scripts naming every command; bash parses its own", () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const r = tether("completion", shell);
      expect(r.status, shell).toBe(0);
      for (const cmd of ["run", "await", "watch", "ls", "schedules", "completion"]) expect(r.stdout, shell).toContain(cmd);
    }
    const bash = spawnSync("bash", ["-n"], { input: tether("completion", "bash").stdout, encoding: "utf8", timeout: COMMAND_MS });
    expect(bash.status, bash.stderr).toBe(0);
    // tether run's flags complete too, and each command name once.
    const complete = (words: string) =>
      spawnSync("bash", ["-c", `source <(${process.execPath} ${bin} completion bash); COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _tether; echo "\${COMPREPLY[@]}"`], { encoding: "utf8", timeout: COMMAND_MS }).stdout.trim();
    expect(complete("tether run --conc")).toBe("--concurrency");
    expect(complete("tether run --start")).toBe("--start-rate");
    expect(complete("tether comp")).toBe("completion");
  });

  it("refuses another shell with exit 2", () => {
    const r = tether("completion", "tcsh");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("bash, zsh or fish");
  });
});

describe("--json", () => {
  // Each command that reads prints one JSON document with --json (or always); the rest say why not.
  const NOT_READS: Record<string, string> = {
    logs: "the job's own bytes", completion: "a shell script", keys: "a key set, JSON already", help: "words",
    input: "JSON always; needs a run with a pipe (live-input tests)", approve: "JSON always; needs a policy that asks (approvals tests)",
    deny: "as approve", watch: "a JSON line per event: tested above", submit: "writes; a JSON line per job (cli tests)", run: "the job's output; --result prints its JSON",
  };

  it("every command that reads prints parseable JSON", { timeout: 180_000 }, async () => {
    const run = await s.client.submit(s.agent, { argv: ["true"] });
    await s.client.wait(run.id);
    const sched = await s.client.createSchedule(s.agent, { cron: "0 3 * * *", run: { argv: ["true"] } });
    await s.client.putSecret(s.agent, "JSON_TEST", "not-a-real-secret");
    const reads: string[][] = [
      ["get", run.id], ["get", run.id, "--json"], ["cancel", run.id, "--json"], ["await", run.id, "--json"],
      ["ls", "--json"], ["status", s.agent, "--json"], ["agents", "ls", "--json"], ["agents", "get", s.agent, "--json"],
      ["hosts", "ls", s.agent, "--json"], ["secrets", "ls", s.agent, "--json"], ["token", "ls", "--json"],
      ["schedules", "ls", "--json"], ["schedules", "get", sched.id, "--json"], ["schedules", "preview", sched.id, "--json"], ["schedules", "events", sched.id, "--json"],
    ];
    for (const cmd of Object.keys(COMMANDS)) expect(NOT_READS[cmd] !== undefined || reads.some((r) => r[0] === cmd), `tether ${cmd} --json is not tested`).toBe(true);
    for (const args of reads) {
      const r = tether(...args);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      expect(() => JSON.parse(r.stdout), args.join(" ")).not.toThrow();
      expect(r.stdout, args.join(" ")).not.toContain("\x1b[");
    }
    expect(JSON.parse(tether("secrets", "ls", s.agent, "--json").stdout)).toEqual([expect.objectContaining({ name: "JSON_TEST" })]);
    expect(JSON.parse(tether("schedules", "preview", sched.id, "--json").stdout).times.length).toBeGreaterThan(0);
  });
});

describe("colour", () => {
  // script(1) gives the CLI a pseudo-terminal as its stdout. Timeouts are generous: on a loaded
  // machine each of these processes can take seconds.
  const onTty = (args: string, extra: Record<string, string> = {}) =>
    spawnSync("script", ["-qec", `${process.execPath} ${bin} ${args}`, "/dev/null"], { env: { ...env(), TERM: "xterm", ...extra }, encoding: "utf8", timeout: 60_000 });
  const piped = (args: string[], extra: Record<string, string> = {}) => spawnSync(process.execPath, [bin, ...args], { env: { ...env(), ...extra }, encoding: "utf8", timeout: 60_000 });
  /** Its stdout, once it has exited 0; what it said otherwise, in the failure. */
  const out = (r: ReturnType<typeof piped>, what: string) => {
    expect(r.status, `${what}: exit ${r.status} ${r.signal ?? ""} ${r.error?.message ?? ""}\n${r.stdout}${r.stderr}`).toBe(0);
    return r.stdout;
  };

  it("tether status, agents ls and ls: colour on a terminal or with FORCE_COLOR, none in a pipe or with NO_COLOR", { timeout: 180_000 }, async () => {
    const run = await s.client.submit(s.agent, { argv: ["true"] });
    await s.client.wait(run.id);
    await waitFor("the index to hold the run", async () => (await s.client.listRuns({ limit: 200 })).runs.some((r) => r.id === run.id && r.status === "succeeded"));
    for (const args of [["status", s.agent], ["agents", "ls"], ["ls"]]) {
      const name = args.join(" ");
      const plain = out(piped(args), name);
      expect(plain, name).not.toContain("\x1b[");
      expect(plain, name).toContain(args[0] === "agents" ? s.agent : "succeeded");
      expect(out(piped(args, { FORCE_COLOR: "1" }), `FORCE_COLOR=1 ${name}`), name).toContain("\x1b[");
      const tty = out(onTty(name), `${name} on a terminal`);
      expect(tty, name).toContain("\x1b[");
      // A status is coloured by outcome, padded before it is painted so columns stay aligned.
      if (args[0] !== "agents") expect(tty, name).toContain("\x1b[32msucceeded");
      expect(out(onTty(name, { NO_COLOR: "1" }), `NO_COLOR=1 ${name} on a terminal`), name).not.toContain("\x1b[");
    }
    expect(out(piped(["ls"], { FORCE_COLOR: "0" }), "FORCE_COLOR=0 ls")).not.toContain("\x1b[");
    expect(out(piped(["ls"], { FORCE_COLOR: "1", NO_COLOR: "1" }), "FORCE_COLOR=1 NO_COLOR=1 ls")).not.toContain("\x1b[");
  });
});
