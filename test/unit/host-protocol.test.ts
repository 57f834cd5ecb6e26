/** What a host takes from its edge: a message from a newer edge, with fields this host does not know, still works. */
import { describe, expect, it } from "vitest";
import { EdgeToHost } from "../../src/protocol/host.js";

const assign = {
  type: "assign",
  run_id: "run_01a22ea3321be2b846065abcdef0_bench",
  attempt: 1,
  job_token: "t",
  job: { argv: ["true"], timeout_ms: 60_000 },
};

describe("EdgeToHost", () => {
  it("takes an assignment whose job has fields this host does not know, and drops them", () => {
    const parsed = EdgeToHost.safeParse({ ...assign, trace: "x", job: { ...assign.job, checkpoint: { every_s: 30 } } });
    expect(parsed.success).toBe(true);
    expect(parsed.data).toEqual(assign);
  });

  it("still refuses a job it cannot run as sent", () => {
    for (const job of [{ timeout_ms: 60_000 }, { argv: [], timeout_ms: 60_000 }, { argv: ["true"] }, { argv: ["true"], timeout_ms: 60_000, env: { "": "x" } }]) {
      expect(EdgeToHost.safeParse({ ...assign, job }).success, JSON.stringify(job)).toBe(false);
    }
  });
});
