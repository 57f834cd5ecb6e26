/** Data into and out of a job: named inputs as environment or files, and the JSON a job returns as its run's result. */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../src/local/paths.js";
import { collect, COMMAND_MS, startStack, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const node = (script: string) => [process.execPath, "-e", script];
const out = async (id: string) => Buffer.from(await s.client.output(id)).toString();

describe("inputs", () => {
  it("reach the job as TETHER_INPUT_<NAME>, JSON text of every type; past 256 KiB together, as files", async () => {
    const big = "x".repeat(300 * 1024);
    const inputs = { str: "hello", num: 3.5, yes: true, none: null, list: [1, "two", { three: 3 }], obj: { a: { b: [] } }, big };
    const run = await s.client.submit(s.agent, {
      argv: node(`
        const e = process.env, fs = require("fs");
        const names = Object.keys(e).filter((k) => k.startsWith("TETHER_INPUT_")).sort();
        const got = {};
        for (const k of names) got[k] = k.endsWith("_FILE") ? JSON.parse(fs.readFileSync(e[k], "utf8")).length : JSON.parse(e[k]);
        console.log(JSON.stringify(got));`),
      inputs,
    });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded", inputs });
    expect(JSON.parse(await out(run.id))).toEqual({
      TETHER_INPUT_BIG_FILE: big.length,
      TETHER_INPUT_LIST: inputs.list,
      TETHER_INPUT_NONE: null,
      TETHER_INPUT_NUM: 3.5,
      TETHER_INPUT_OBJ: inputs.obj,
      TETHER_INPUT_STR: "hello",
      TETHER_INPUT_YES: true,
    });
  });

  it("are refused when two names differ only in case, or are not names", async () => {
    for (const inputs of [{ a: 1, A: 2 }, { "no-dash": 1 }] as Record<string, number>[]) {
      await expect(s.client.submit(s.agent, { argv: ["true"], inputs })).rejects.toMatchObject({ status: 400 });
    }
  });
});

describe("results", () => {
  /** A job that writes what `expr` (JavaScript) makes to its result path. */
  const returns = (expr: string) => node(`require("fs").writeFileSync(process.env.TETHER_RESULT_PATH, ${expr})`);

  it("the JSON a job writes to TETHER_RESULT_PATH is its run's result", async () => {
    const run = await s.client.submit(s.agent, { argv: returns(`'{"ok":true,"items":[1,2]}'`) });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded", result: { ok: true, items: [1, 2] } });
  });

  it("invalid JSON, or more than 1 MiB, is no result and an event that says why; the status is still the process's", async () => {
    for (const [expr, why] of [[`"not json"`, /not valid JSON/], [`"[" + "1,".repeat(600000) + "1]"`, /more than the 1048576/]] as const) {
      const run = await s.client.submit(s.agent, { argv: returns(expr) });
      const { run: end, events } = await collect(s.client, run.id);
      expect(end).toMatchObject({ status: "succeeded", result: null });
      const invalid = events.find((e) => e.type === "event" && e.event.type === "result_invalid");
      expect(invalid?.type === "event" && String(invalid.event.reason)).toMatch(why);
    }
  });

  it("a result path made into something other than a file is no result, and the host reads nothing through it", async () => {
    // A file of the host's the job must not get back as its result, were the link followed.
    const hostFile = join(s.dir, "host-only.json");
    writeFileSync(hostFile, '{"host":"secret"}');
    const cases: [string, RegExp][] = [
      [`ln -s ${hostFile} "$TETHER_RESULT_PATH"`, /not a regular file/],
      [`ln -s "$TETHER_RESULT_PATH" "$TETHER_RESULT_PATH"`, /not a regular file/],
      [`mkdir "$TETHER_RESULT_PATH"`, /not a regular file/],
      // Opened to read as it is, a FIFO no one writes to would hold the host's thread for ever.
      [`mkfifo "$TETHER_RESULT_PATH"`, /not a regular file/],
    ];
    for (const [script, why] of cases) {
      const run = await s.client.submit(s.agent, { argv: ["sh", "-c", script] });
      const { run: end, events } = await collect(s.client, run.id);
      expect(end, script).toMatchObject({ status: "succeeded", result: null });
      const invalid = events.find((e) => e.type === "event" && e.event.type === "result_invalid");
      expect(invalid?.type === "event" && String(invalid.event.reason), script).toMatch(why);
    }
    // The host is still there, and still takes jobs.
    const after = await s.client.submit(s.agent, { argv: returns(`'{"after":1}'`) });
    expect(await s.client.wait(after.id)).toMatchObject({ status: "succeeded", result: { after: 1 } });
  });

  it("each attempt has a path of its own, and a retry's result is its own", async () => {
    const run = await s.client.submit(s.agent, {
      argv: node(`
        const fs = require("fs"), p = process.env.TETHER_RESULT_PATH, n = Number(process.env.TETHER_ATTEMPT);
        console.log(n, p, fs.existsSync(p));
        fs.writeFileSync(p, JSON.stringify({ attempt: n }));
        process.exit(n === 1 ? 1 : 0);`),
      retry: { max_attempts: 2, on: ["failed"], delay_ms: 0 },
    });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded", attempt: 2, result: { attempt: 2 } });
    const [first, second] = [await s.client.output(run.id, { attempt: 1 }), await s.client.output(run.id)].map((b) => Buffer.from(b).toString().trim().split(" "));
    expect(first![2]).toBe("false");
    expect(second![2]).toBe("false");
    expect(first![1]).not.toBe(second![1]);
  });

  it("tether run --input … --result prints the result", () => {
    const job = returns("JSON.stringify({ twice: 2 * JSON.parse(process.env.TETHER_INPUT_N), who: JSON.parse(process.env.TETHER_INPUT_WHO) })");
    const cli = [join(repoRoot(), "bin", "tether.mjs"), "run", s.agent, "--input", "n=20", "--input", "who=world", "--result", "--", ...job];
    const r = spawnSync(process.execPath, cli, { env: { ...process.env, TETHER_URL: s.url, TETHER_TOKEN: s.token }, encoding: "utf8", timeout: COMMAND_MS });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ twice: 40, who: "world" });
  });
});
