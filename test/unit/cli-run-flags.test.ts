/**
 * `tether run` has a flag for every field of the submit: the schema's keys are enumerated here,
 * so a field added to CreateRunBody without a flag (and a line of help) fails this test.
 */
import { describe, expect, it } from "vitest";
import { CreateRunBody } from "../../src/protocol/run.js";
import { COMMANDS } from "../../src/cli/help.js";
import { UsageError } from "../../src/cli/flags.js";
import { FIELD_FLAGS, RUN_OPTIONS, runBody, type RunValues } from "../../src/cli/run-flags.js";

const fields = Object.keys(CreateRunBody.shape);
const help = `${COMMANDS.run!.usage}\n${COMMANDS.run!.flags}`;

describe("tether run's flags and the submit schema", () => {
  it("every submit field has a flag, the flag exists, and the help names it", () => {
    for (const field of fields) {
      const flags = (FIELD_FLAGS as Record<string, readonly string[] | undefined>)[field];
      expect(flags?.length, `submit field ${field} has no tether run flag`).toBeGreaterThan(0);
      for (const f of flags!) {
        if (f === "--") continue;
        expect(RUN_OPTIONS, `--${f} for ${field}`).toHaveProperty([f]);
        expect(help, `tether run --help says nothing of --${f}`).toContain(`--${f}`);
      }
    }
    // And nothing maps a field the schema does not have.
    expect(Object.keys(FIELD_FLAGS).sort()).toEqual([...fields].sort());
  });

  it("the flags together make a submit with every field, which the schema takes", () => {
    const v: RunValues = {
      env: ["A=1"], secret: ["TOKEN"], label: ["pr=1"], input: ["n=3"], timeout: "30s", "queue-timeout": "5m",
      attempts: "3", "retry-on": ["failed,lost"], "retry-delay": "500ms", "retry-backoff": "fixed", "retry-max-delay": "1m",
      priority: "high", lane: "deploys", concurrency: "key=k,limit=2,strategy=round_robin", "dedup-key": "d", "on-duplicate": "return",
      "idempotency-key": "i", "start-rate": "key=api,limit=5,window=60", debounce: "key=b,ms=500", require: ["gpu=true"], prefer: ["zone=a"],
      runner: "claude", prompt: "hi", model: "sonnet", "max-turns": "3", "allowed-tool": ["Bash(git *)"], "append-system-prompt": "be brief",
      "detached-child": true,
    };
    const body = runBody(v, ["true"]);
    expect(CreateRunBody.safeParse(body).success).toBe(true);
    // stdin is the one field runCommand adds (it reads the file, or streams the terminal).
    expect(Object.keys(body).sort()).toEqual(fields.filter((f) => f !== "stdin").sort());
    expect(body).toMatchObject({
      timeout_ms: 30_000, queue_timeout_ms: 300_000,
      retry: { max_attempts: 3, on: ["failed", "lost"], delay_ms: 500, backoff: "fixed", max_delay_ms: 60_000 },
      concurrency: { key: "k", limit: 2, strategy: "round_robin" }, start_rate: { key: "api", limit: 5, window_s: 60 },
      debounce: { key: "b", ms: 500 }, requires: { gpu: "true" }, prefer: { zone: "a" }, priority: "high", detached: true,
    });
    expect(runBody({ debounce: "b=250", priority: "7", concurrency: "only-key" }, ["true"])).toMatchObject({ debounce: { key: "b", ms: 250 }, priority: 7, concurrency: { key: "only-key" } });
  });

  it("a bad value is a usage error naming the flag", () => {
    const bad: [RunValues, RegExp][] = [
      [{ priority: "hi" }, /^--priority takes 0-9 or low, normal, high, urgent/],
      [{ concurrency: "key=a,limt=2" }, /^--concurrency takes key=…,limit=…,strategy=…/],
      [{ concurrency: "key=a,strategy=lifo" }, /^--concurrency takes queue, cancel_in_progress/],
      [{ concurrency: "key=a,limit=5000" }, /^--concurrency \(limit\): /],
      [{ "start-rate": "key=a,limit=3" }, /^--start-rate takes key=K,limit=N,window=SECONDS/],
      [{ "on-duplicate": "ignore" }, /^--on-duplicate takes error, return/],
      [{ attempts: "500" }, /^--attempts: /],
      [{ "retry-on": ["crashed"] }, /^--retry-on takes lost, failed, timed_out/],
      [{ timeout: "soon" }, /^--timeout takes a length of time/],
      [{ timeout: "0" }, /^--timeout: /],
      [{ debounce: "k=abc" }, /^--debounce takes/],
      [{ require: ["gpu"] }, /^--require takes KEY=VALUE/],
      [{ lane: "" }, /^--lane: /],
      [{ runner: "claude" }, /^--runner claude needs --prompt/],
      [{ runner: "gpt" }, /^--runner takes claude/],
    ];
    for (const [v, message] of bad) {
      let err: unknown;
      try {
        runBody(v, ["true"]);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(v)).toBeInstanceOf(UsageError);
      expect((err as UsageError).message, JSON.stringify(v)).toMatch(message);
      expect((err as UsageError).command).toBe("run");
    }
  });
});
