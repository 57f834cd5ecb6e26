import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";

const E = env as unknown as Env;

describe("submitting exactly once", () => {
  it("concurrent submits with one idempotency key make one run", async () => {
    const t = await workspaceToken(freshWorkspace());
    await call(t, "POST", "/v1/agents", { name: "race" });
    const body = { argv: ["true"], idempotency_key: "same" };
    const all = await Promise.all(Array.from({ length: 8 }, () => call(t, "POST", "/v1/agents/race/runs", body)));
    expect(new Set(all.map((r) => r.json.id)).size).toBe(1);
    expect(all.filter((r) => r.status === 201)).toHaveLength(1);
    expect((await call(t, "GET", "/v1/agents/race")).json.queued).toBe(1);
  });

  it("a submit that never finished is swept: it never runs behind its caller's back", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    await call(t, "POST", "/v1/agents", { name: "half" });
    const stub = E.AGENT.get(E.AGENT.idFromName(`${ws}:half`));
    // As if the object restarted after claiming the run and before creating its object.
    const id = `run_${"0".repeat(12)}${"ab".repeat(8)}`;
    await runInDurableObject(stub, (_o, state) => {
      const sql = state.storage.sql;
      sql.exec("INSERT INTO pending (run_id, init, created_at) VALUES (?, '{}', 0)", id);
      sql.exec("INSERT INTO queue (run_id, job, enqueued_at, ready_at) VALUES (?, '{}', 0, ?)", id, Number.MAX_SAFE_INTEGER);
      sql.exec("INSERT INTO timers (key, kind, due_at, data) VALUES (?, 'pending', 1, '{}')", `pending:${id}`);
    });
    expect((await call(t, "GET", "/v1/agents/half")).json.queued).toBe(1);
    await runInDurableObject(stub, (_o, state) => state.storage.setAlarm(Date.now() + 60_000));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await call(t, "GET", "/v1/agents/half")).json.queued).toBe(0);
    expect((await call(t, "GET", `/v1/runs/${id}`)).status).toBe(404);
  });
});
