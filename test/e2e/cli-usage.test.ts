/** The built CLI before any job runs: help, version, mistakes, and a control plane it cannot reach. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/help.js";
import { repoRoot } from "../../src/local/paths.js";

const bin = join(repoRoot(), "bin", "tether.mjs");
const dir = mkdtempSync(join(tmpdir(), "tether-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tether(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? dir,
    env: { PATH: process.env.PATH!, ...opts.env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

describe("tether help and version", () => {
  it("tether help, --help and -h print the commands and the exit codes", () => {
    for (const args of [["help"], ["--help"], ["-h"]]) {
      const r = tether(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain("tether run <agent>");
      expect(r.stdout).toContain("tether schedules");
      expect(r.stdout).toMatch(/Exit codes: 0 done, 1 error .*, 2 usage, 4 not found/);
    }
  });

  it("each command's --help, and tether help <command>, says what it does with an example", () => {
    for (const cmd of ["run", "get", "logs", "cancel", "agents", "schedules", "help"]) {
      const r = tether([cmd, "--help"]);
      expect(r.status, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/^usage:\s+tether /);
      expect(r.stdout, cmd).toMatch(/\nexample:\n {2}tether /);
    }
    expect(tether(["help", "logs"]).stdout).toBe(tether(["logs", "--help"]).stdout);
  });

  it("every command in the table has --help with an example, and so do the subcommands that list", () => {
    const cmds = Object.keys(COMMANDS);
    expect(cmds.length).toBeGreaterThan(15);
    for (const args of [...cmds.map((c) => [c, "--help"]), ["agents", "ls", "--help"], ["hosts", "ls", "--help"], ["schedules", "ls", "--help"], ["token", "ls", "--help"]]) {
      const r = tether(args);
      expect(r.status, args.join(" ")).toBe(0);
      expect(r.stderr, args.join(" ")).toBe("");
      expect(r.stdout, args.join(" ")).toMatch(/^usage:\s+tether /);
      expect(r.stdout, args.join(" ")).toMatch(/\nexample:\n {2}.*\btether /);
    }
  });

  it("--version prints the package's version", () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { version: string };
    const r = tether(["--version"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`tether ${version}\n`);
  });
});

describe("mistakes exit 2 with one line and where to look", () => {
  const usageError = (args: string[], message: string, hint: string) => {
    const r = tether(args);
    expect(r.status, args.join(" ")).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`tether: ${message}\nSee \`${hint}\` for usage and an example.\n`);
  };

  it("an unknown command suggests the nearest", () => {
    usageError(["rn", "local"], "unknown command rn (did you mean tether run?)", "tether --help");
    usageError(["shedules", "ls"], "unknown command shedules (did you mean tether schedules?)", "tether --help");
    usageError(["frobnicate"], "unknown command frobnicate", "tether --help");
    usageError(["schedules", "lss"], "unknown schedules command lss (did you mean ls?)", "tether schedules --help");
  });

  it("a bad flag names itself and the command, and the nearest flag", () => {
    usageError(["run", "local", "--detatch", "--", "true"], "unknown flag --detatch for tether run (did you mean --detach?)", "tether run --help");
    usageError(["get", "run_x", "--follow"], "unknown flag --follow for tether get", "tether get --help");
    usageError(["run", "local", "--timeout"], "--timeout needs a value", "tether run --help");
    usageError(["logs", "run_x", "--follow=yes"], "--follow takes no value", "tether logs --help");
    usageError(["schedules", "ls", "--lmit", "3"], "unknown flag --lmit for tether schedules (did you mean --limit?)", "tether schedules --help");
  });

  it("a bad value for a run flag is a usage error, said before anything is sent", () => {
    usageError(["run", "local", "--priority", "hi", "--", "true"], '--priority takes 0-9 or low, normal, high, urgent, not "hi"', "tether run --help");
    usageError(["run", "local", "--concurrency", "key=k,strategy=lifo", "--", "true"], '--concurrency takes queue, cancel_in_progress, cancel_newest, round_robin, not "lifo"', "tether run --help");
    usageError(["run", "local", "--start-rate", "key=k,limit=5", "--", "true"], '--start-rate takes key=K,limit=N,window=SECONDS, not "key=k,limit=5"', "tether run --help");
    usageError(["run", "local", "--require", "gpu", "--", "true"], "--require takes KEY=VALUE, not gpu", "tether run --help");
    usageError(["run", "local", "--on-duplicate", "skip", "--", "true"], '--on-duplicate takes error, return, not "skip"', "tether run --help");
    usageError(["run", "local", "echo", "hi"], "tether run takes one agent, then the command after --: put -- before echo", "tether run --help");
  });

  it("a missing argument says what is missing", () => {
    usageError(["run", "local"], "tether run needs an agent, then the command after --: tether run <agent> -- <argv...>", "tether run --help");
    usageError(["cancel"], "tether cancel needs a run id", "tether cancel --help");
  });
});

describe("a control plane that cannot be reached", () => {
  let deadUrl: string;
  beforeAll(async () => {
    // A port that was just free: nothing listens there.
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    deadUrl = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    await new Promise((r) => srv.close(r));
  });

  it("names the local.json it came from and suggests npm start, from any directory below it", () => {
    mkdirSync(join(dir, ".tether"), { recursive: true });
    writeFileSync(join(dir, ".tether", "local.json"), JSON.stringify({ url: deadUrl, token: "t" }));
    const deep = join(dir, "a", "b");
    mkdirSync(deep, { recursive: true });
    for (const args of [["get", "run_x"], ["logs", "run_x", "-f"], ["run", "local", "--", "true"]]) {
      const r = tether(args, { cwd: deep });
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stderr).toBe(
        `tether: cannot reach the control plane at ${deadUrl} (connection refused).\n` +
          `That address is the local one, from ${join(dir, ".tether", "local.json")}: is \`npm start\` running? Start it in ${dir}.\n`,
      );
    }
  });

  it("points at TETHER_URL when the address came from there", () => {
    const r = tether(["get", "run_x"], { env: { TETHER_URL: deadUrl, TETHER_TOKEN: "t" } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`tether: cannot reach the control plane at ${deadUrl} (connection refused).\nIt comes from TETHER_URL: check that it is right and that the control plane is up.\n`);
  });
});
