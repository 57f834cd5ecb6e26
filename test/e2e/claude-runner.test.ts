/**
 * The claude runner against a stand-in `claude` on the host's PATH that replays a recorded
 * stream-json transcript: a real process, the real parser, the real stack.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHostAgent } from "../../src/local/stack.js";
import { collect, startStack, type Stack } from "./harness.js";

const TRANSCRIPT = join(__dirname, "fixtures", "claude-transcript.jsonl");

/** Replays the transcript; the prompt on stdin picks how: whole, cut off mid-line, or ending in an error. */
const STAND_IN = `#!${process.execPath}
const fs = require("fs");
const args = process.argv.slice(2);
const prompt = fs.readFileSync(0, "utf8");
if (!["-p", "--output-format", "stream-json", "--verbose"].every((a) => args.includes(a))) { console.error("bad args " + args.join(" ")); process.exit(64); }
const lines = fs.readFileSync(${JSON.stringify(TRANSCRIPT)}, "utf8").trim().split("\\n");
if (prompt === "cut") { process.stdout.write(lines.slice(0, 2).join("\\n") + "\\n" + lines[2].slice(0, 30)); process.exit(0); }
if (prompt === "fail") {
  process.stdout.write(lines[0] + "\\n" + JSON.stringify({ type: "result", subtype: "error_during_execution", is_error: true, num_turns: 1, session_id: "sess-42", total_cost_usd: 0.001, usage: { input_tokens: 10, output_tokens: 0 } }) + "\\n");
  process.exit(1);
}
process.stdout.write(lines.join("\\n") + "\\n");
console.error("model " + (args[args.indexOf("--model") + 1] || "default"));
`;

let s: Stack;
let bin: string;
beforeAll(async () => {
  s = await startStack({ hosts: 0 });
  bin = mkdtempSync(join(tmpdir(), "claude-bin-"));
  writeFileSync(join(bin, "claude"), STAND_IN);
  chmodSync(join(bin, "claude"), 0o755);
});
afterAll(async () => {
  await s?.stop();
});

describe("the claude runner", () => {
  it("waits for a host that has claude, runs there, and records the result, usage and events", async () => {
    const run = await s.client.submit(s.agent, { runner: "claude", prompt: "list the files", model: "claude-sonnet-4-5", max_turns: 3, allowed_tools: ["Bash"] });
    expect(run.argv.slice(0, 5)).toEqual(["claude", "-p", "--output-format", "stream-json", "--verbose"]);
    // A host without claude takes other jobs, not this one.
    await s.addHost();
    const plain = await s.client.submit(s.agent, { argv: ["echo", "plain"] });
    expect(await s.client.wait(plain.id)).toMatchObject({ status: "succeeded" });
    expect((await s.client.get(run.id)).status).toBe("queued");
    const host = startHostAgent({ url: s.url, hostToken: s.hostToken, stdio: "pipe", env: { PATH: `${bin}:${process.env.PATH}` } });
    s.hosts.push(host);
    await host.connected;
    const { run: end, events } = await collect(s.client, run.id);
    expect(end).toMatchObject({
      status: "succeeded",
      result: {
        text: "There is one file: a.txt",
        is_error: false,
        usage: { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 5, cache_read_input_tokens: 50 },
        cost_usd: 0.0123,
        model: "claude-sonnet-4-5",
        session_id: "sess-42",
        num_turns: 2,
      },
    });
    const seen = events.flatMap((e) => (e.type === "event" ? [e.event] : []));
    expect(seen.find((e) => e.type === "waiting")?.reason).toBe("waiting for a host with the claude runner");
    expect(seen.filter((e) => e.type === "assistant").map((e) => e.text)).toEqual(["I will list the files.", "There is one file: a.txt"]);
    expect(seen.find((e) => e.type === "tool_use")).toMatchObject({ name: "Bash", input: '{"command":"ls"}' });
    // The stream itself is the run's output, byte for byte.
    expect(Buffer.from(await s.client.output(run.id, { stream: "stdout" })).toString().trim().split("\n")).toHaveLength(5);
  });

  it("a transcript cut off mid-line has no result, and an event says why", async () => {
    const run = await s.client.submit(s.agent, { runner: "claude", prompt: "cut" });
    const { run: end, events } = await collect(s.client, run.id);
    expect(end).toMatchObject({ status: "succeeded", result: null });
    const invalid = events.find((e) => e.type === "event" && e.event.type === "result_invalid");
    expect(invalid?.type === "event" && invalid.event.reason).toMatch(/ended without a result message/);
  });

  it("an error result fails the run by its exit code and is recorded as an error", async () => {
    const run = await s.client.submit(s.agent, { runner: "claude", prompt: "fail" });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "failed", exit_code: 1, result: { is_error: true, subtype: "error_during_execution" } });
  });

  it("refuses a run with both argv and a runner, or a runner without a prompt", async () => {
    await expect(s.client.submit(s.agent, { runner: "claude", prompt: "x", argv: ["true"] })).rejects.toMatchObject({ status: 400 });
    await expect(s.client.submit(s.agent, { runner: "claude" })).rejects.toMatchObject({ status: 400 });
  });
});
