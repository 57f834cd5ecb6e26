import { describe, expect, it } from "vitest";
import { calls, readJobs } from "../../src/cli/submit-command.js";
import { LIMITS } from "../../src/protocol/limits.js";

const lines = (n: number, job: (i: number) => object) => Array.from({ length: n }, (_, i) => JSON.stringify(job(i))).join("\n");

describe("tether submit's calls", () => {
  it("are 100 runs each, in the file's order", () => {
    const chunks = calls(readJobs(lines(250, (i) => ({ argv: ["echo", String(i)] }))));
    expect(chunks.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(chunks.flat().map((j) => j.line)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
  });

  it("are fewer runs where 100 would pass the largest body a request may have", () => {
    const stdin = "x".repeat(300_000);
    const chunks = calls(readJobs(lines(20, () => ({ argv: ["wc", "-c"], stdin }))));
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(JSON.stringify({ runs: c.map((j) => ({ ...j.job, idempotency_key: crypto.randomUUID() })) }).length).toBeLessThanOrEqual(LIMITS.bodyBytes);
    expect(chunks.flat().map((j) => j.line)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("refuse a line larger than one submit may be, before anything is sent", () => {
    // Each field within its own limit, all of them together past the body's.
    const big = JSON.stringify({ argv: ["true", "a".repeat(100_000)], stdin: "y".repeat(LIMITS.stdinBytes), inputs: { z: "z".repeat(1_000_000) } });
    expect(() => readJobs(`{"argv":["true"]}\n${big}\n`)).toThrow(/line 2: \d+ bytes, more than the 2097152 one submit may be/);
  });
});
