import { describe, expect, it } from "vitest";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";

describe("submitting exactly once", () => {
  it("100 concurrent submits with one idempotency key make one run", async () => {
    const t = await workspaceToken(freshWorkspace());
    await call(t, "POST", "/v1/agents", { name: "race" });
    const body = { argv: ["true"], idempotency_key: "same" };
    const all = await Promise.all(Array.from({ length: 100 }, () => call(t, "POST", "/v1/agents/race/runs", body)));
    expect(new Set(all.map((r) => r.json.id)).size).toBe(1);
    expect(all.filter((r) => r.status === 201)).toHaveLength(1);
    expect((await call(t, "GET", "/v1/agents/race")).json.queued).toBe(1);
  });
});
