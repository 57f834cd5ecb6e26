import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../src/local/paths.js";
import { COMMAND_MS, startStack, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const bin = join(repoRoot(), "bin", "tether.mjs");
const env = () => ({ ...process.env, TETHER_URL: s.url, TETHER_TOKEN: s.token });
const tether = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { env: env(), encoding: "utf8", timeout: 30_000 });

describe("tether run", () => {
  it("streams stdout and stderr apart and exits with the job's code", () => {
    const r = tether("run", s.agent, "--", "sh", "-c", "echo out; echo err >&2; exit 3");
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
    expect(r.status).toBe(3);
  });

  it("exits 128+n when the job is killed by signal n", () => {
    expect(tether("run", s.agent, "--", "sh", "-c", "kill -KILL $$").status).toBe(137);
  });

  it("passes --env and --stdin", () => {
    const r = spawnSync(process.execPath, [bin, "run", s.agent, "--env", "WHO=world", "--stdin", "-", "--", "sh", "-c", 'read x; echo "$x $WHO"'], {
      env: env(),
      input: "hello\n",
      encoding: "utf8",
      timeout: COMMAND_MS,
    });
    expect(r.stdout).toBe("hello world\n");
    expect(r.status).toBe(0);
  });

  it("the submit's fields reach the run through their flags", async () => {
    const args = ["run", s.agent, "--detach", "--priority", "high", "--concurrency", "key=flags,limit=2", "--dedup-key", "flags-1", "--label", "pr=9",
      "--attempts", "3", "--retry-on", "failed", "--retry-delay", "100ms", "--retry-backoff", "fixed", "--timeout", "1m", "--queue-timeout", "5m",
      "--idempotency-key", "flags-idem", "--", "sh", "-c", "exit 1"];
    const r = tether(...args);
    expect(r.status, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const run = await s.client.wait(id);
    expect(run).toMatchObject({
      status: "failed", attempt: 3, priority: 7, concurrency: { key: "flags", limit: 2, strategy: "queue" }, dedup_key: "flags-1",
      labels: { pr: "9" }, timeout_ms: 60_000, retry: { max_attempts: 3, on: ["failed"], delay_ms: 100, backoff: "fixed" },
    });
    // The same idempotency key returns the first run.
    expect(tether(...args).stdout.trim()).toBe(id);
  });

  it("--detach prints the run id, and get, logs and cancel work on it", async () => {
    const id = tether("run", s.agent, "--detach", "--", "sh", "-c", "echo from-logs; echo e >&2").stdout.trim();
    expect(id).toMatch(new RegExp(`^run_[0-9a-f]{28}_${s.agent}$`));
    await s.client.wait(id);
    expect(JSON.parse(tether("get", id).stdout)).toMatchObject({ id, status: "succeeded" });
    const logs = tether("logs", id);
    expect(logs.stdout).toBe("from-logs\n");
    expect(logs.stderr).toBe("e\n");
    expect(tether("logs", id, "-f").stdout).toBe("from-logs\n");
    expect(JSON.parse(tether("cancel", id).stdout).status).toBe("succeeded");
  });

  it("Ctrl-C cancels the job, then exits 130", async () => {
    const child = spawn(process.execPath, [bin, "run", s.agent, "--", "sh", "-c", "echo started; sleep 1000"], { env: env() });
    let out = "";
    await new Promise<void>((resolve) =>
      child.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes("started")) resolve();
      }),
    );
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(130);
  });

  it("says what is wrong for an unknown agent, and for a missing configuration", () => {
    const r = tether("run", "no-such-agent", "--", "true");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("agent no-such-agent does not exist");
    const bare = spawnSync(process.execPath, [bin, "get", "run_x"], { env: { PATH: process.env.PATH }, cwd: s.dir, encoding: "utf8", timeout: COMMAND_MS });
    expect(bare.stderr).toMatch(/npm start/);
  });
});

describe("output read by another program", () => {
  it("tether logs and tether run hand a large output through a pipe whole before they exit", async () => {
    const bytes = 8 * 1024 * 1024;
    const run = await s.client.submit(s.agent, { argv: ["head", "-c", String(bytes), "/dev/zero"] });
    expect((await s.client.wait(run.id)).status).toBe("succeeded");
    // stdout is a pipe here: what the command has not yet written when it exits is lost with it.
    const logs = spawnSync(process.execPath, [bin, "logs", run.id], { env: env(), timeout: COMMAND_MS, maxBuffer: 2 * bytes });
    expect(logs.status, String(logs.stderr)).toBe(0);
    expect(logs.stdout.byteLength).toBe(bytes);
    const ran = spawnSync(process.execPath, [bin, "run", s.agent, "--", "head", "-c", String(bytes), "/dev/zero"], { env: env(), timeout: COMMAND_MS, maxBuffer: 2 * bytes });
    expect(ran.status, String(ran.stderr)).toBe(0);
    expect(ran.stdout.byteLength).toBe(bytes);
  });

  it("tether submit --json hands every answer through a pipe before it exits", () => {
    // Each answer carries its run, inputs and all: 6 MB of lines written at once.
    const note = "n".repeat(40_000);
    const lines = Array.from({ length: 150 }, (_, i) => JSON.stringify({ argv: ["true"], inputs: { note, i } }));
    const r = spawnSync(process.execPath, [bin, "submit", s.agent, "-", "--json"], { env: env(), input: `${lines.join("\n")}\n`, timeout: COMMAND_MS, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const answers = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { line: number; run: { inputs: { i: number } } });
    expect(answers.map((a) => a.run.inputs.i)).toEqual(lines.map((_, i) => i));
  });
});

describe("tether submit", () => {
  const submit = (input: string, ...args: string[]) =>
    spawnSync(process.execPath, [bin, "submit", s.agent, ...args], { env: env(), input, encoding: "utf8", timeout: COMMAND_MS });

  it("submits every line of a file, 100 a call, in order; the same file with --key-prefix makes none twice", async () => {
    const lines = Array.from({ length: 150 }, (_, i) => JSON.stringify({ argv: ["sh", "-c", `echo line-${i + 1}`], labels: { batch: "cli" } }));
    const file = join(s.dir, "jobs.jsonl");
    writeFileSync(file, `# 150 jobs\n${lines.join("\n")}\n\n`);
    const first = spawnSync(process.execPath, [bin, "submit", s.agent, file, "--key-prefix", "cli-batch"], { env: env(), encoding: "utf8", timeout: COMMAND_MS });
    expect(first.status, first.stderr).toBe(0);
    const ids = first.stdout.trim().split("\n");
    expect(ids).toHaveLength(150);
    expect(new Set(ids).size).toBe(150);
    // In the file's order: each run's output names its own line.
    for (const i of [0, 99, 100, 149]) {
      await s.client.wait(ids[i]!);
      expect(tether("logs", ids[i]!).stdout).toBe(`line-${i + 1}\n`);
    }
    const again = spawnSync(process.execPath, [bin, "submit", s.agent, file, "--key-prefix", "cli-batch", "--json"], { env: env(), encoding: "utf8", timeout: COMMAND_MS });
    expect(again.status, again.stderr).toBe(0);
    const answers = again.stdout.trim().split("\n").map((l) => JSON.parse(l) as { line: number; created: boolean; run: { id: string } });
    expect(answers.map((a) => a.run.id)).toEqual(ids);
    expect(answers.every((a) => a.created === false)).toBe(true);
    expect(answers[0]!.line).toBe(2);
  });

  it("sends jobs with large stdin in as many calls as the body's limit needs, each job whole", async () => {
    const stdin = "s".repeat(300_000);
    const r = submit(`${Array.from({ length: 20 }, () => JSON.stringify({ argv: ["wc", "-c"], stdin })).join("\n")}\n`);
    expect(r.status, r.stderr).toBe(0);
    const ids = r.stdout.trim().split("\n");
    expect(ids).toHaveLength(20);
    for (const id of [ids[0]!, ids[19]!]) {
      expect((await s.client.wait(id)).status).toBe("succeeded");
      expect(tether("logs", id).stdout.trim()).toBe("300000");
    }
  });

  it("says which line was refused and exits 1, with the others submitted", async () => {
    const job = JSON.stringify({ argv: ["sleep", "30"], dedup_key: "cli-dup" });
    const r = submit(`${job}\n${job}\n${JSON.stringify({ argv: ["true"] })}\n`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^tether: line 2: .*cli-dup/m);
    const ids = r.stdout.trim().split("\n");
    expect(ids).toHaveLength(2);
    expect((await s.client.wait(ids[1]!)).status).toBe("succeeded");
    await s.client.cancel(ids[0]!);
    expect((await s.client.wait(ids[0]!)).status).toBe("cancelled");
  });

  it("checks every line before it sends one: a bad line is exit 2, names its line, and makes no run", () => {
    const prefix = `cli-bad-${Date.now()}`;
    const good = JSON.stringify({ argv: ["true"] });
    for (const [bad, says] of [
      ['{"argv": "true"}', /line 2: argv: /],
      ['{"argv": ["true"], "bogus": 1}', /line 2: .*bogus/],
      ["not json", /line 2 is not JSON/],
    ] as const) {
      const r = submit(`${good}\n${bad}\n`, "--key-prefix", prefix);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(says);
      expect(r.stdout).toBe("");
    }
    expect(submit("\n# only a comment\n").stderr).toMatch(/no jobs to submit/);
    // Line 1 under the same key: had any of the above sent it, this would return that run.
    const r = submit(`${good}\n`, "--key-prefix", prefix, "--json");
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ line: 1, created: true });
  });
});
