/** A run's events and batch read, deleting runs, and the agent's status. */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { agentStub, runStub } from "../../src/env.js";
import { call, freshWorkspace, tokenFor, workspaceToken } from "./helpers.js";
import { E, host, indexed, newAgent, submit } from "./index-helpers.js";

const tables = (stub: DurableObjectStub) =>
  runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").one().n);
const types = (events: { type: string }[]) => events.map((e) => (e.type === "state" ? `state:${(e as unknown as { status: string }).status}` : e.type));

describe("GET /v1/runs/:id/events and /batch", () => {
  it("a queued run's events come from its agent without making its object, and keep their ids once it has one", async () => {
    const a = await newAgent("ev");
    const run = await submit(a, { argv: ["echo", "hi"] });
    const before = (await call(a.t, "GET", `/v1/runs/${run.id}/events`)).json;
    expect(types(before.events)).toEqual(["state:queued"]);
    expect(await tables(runStub(E, a.ws, run.id))).toBe(0);
    const h = await host(a);
    await h.finish(run.id, 0, "hello\n");
    const all = (await call(a.t, "GET", `/v1/runs/${run.id}/events`)).json;
    expect(all.events[0]).toEqual(before.events[0]);
    // process_started is the run's object's own: the host said the process runs.
    expect(types(all.events)).toEqual(["state:queued", "attempt_started", "state:running", "process_started", "attempt_ended", "state:succeeded"]);
    expect(all.events[4]).toMatchObject({ attempt: 1, reason: "exit", exit_code: 0 });
    expect(all.events[5].at).toBe(all.events[4].at);
    for (const e of all.events) expect(Date.parse(e.at)).not.toBeNaN();
    const after = (await call(a.t, "GET", `/v1/runs/${run.id}/events?after=${all.events[3].id}`)).json;
    expect(types(after.events)).toEqual(["attempt_ended", "state:succeeded"]);
    expect(after.next_after).toBe(all.events[5].id);
    h.sock.sock.close(1000);
  });

  it("a batch gives the run, its attempt, output and events after two cursors, and the next cursors", async () => {
    const a = await newAgent("batch");
    const run = await submit(a, { argv: ["echo"] });
    const h = await host(a);
    await h.finish(run.id, 0, "line one\n");
    const b = (await call(a.t, "GET", `/v1/runs/${run.id}/batch`)).json;
    expect(b.run).toMatchObject({ id: run.id, status: "succeeded" });
    expect(b.attempt).toMatchObject({ number: 1 });
    expect(b.output).toHaveLength(1);
    expect(atob(b.output[0].data_base64)).toBe("line one\n");
    expect(b.output[0]).toMatchObject({ stream: "stdout", attempt: 1 });
    expect(b.events.at(-1)).toMatchObject({ type: "state", status: "succeeded" });
    expect(b.more).toBe(false);
    const again = (await call(a.t, "GET", `/v1/runs/${run.id}/batch?log_cursor=${b.log_cursor}&event_cursor=${b.event_cursor}`)).json;
    expect(again).toMatchObject({ output: [], events: [], log_cursor: b.log_cursor, event_cursor: b.event_cursor, more: false });
    // A job's own token reads its own run's batch.
    const job = await tokenFor({ kind: "job", ws: a.ws, agent: "batch", run: run.id, attempt: 1 });
    expect((await call(job, "GET", `/v1/runs/${run.id}/batch`)).status).toBe(200);
    h.sock.sock.close(1000);
  });

  it("bad cursors are 400s, an unknown run a 404 that writes nothing", async () => {
    const t = await workspaceToken(freshWorkspace());
    const ws = freshWorkspace();
    const t2 = await workspaceToken(ws);
    const id = `run_${"2".repeat(28)}_ghost`;
    for (const q of ["events?after=-1", "events?after=x", "events?limit=0", "events?limit=501", "batch?log_cursor=1.5", "batch?event_cursor=no", "events?other=1"]) {
      expect((await call(t, "GET", `/v1/runs/${id}/${q}`)).status, q).toBe(400);
    }
    for (const path of [`/v1/runs/${id}/events`, `/v1/runs/${id}/batch`, "/v1/agents/ghost/status"]) expect((await call(t2, "GET", path)).status).toBe(404);
    expect((await call(t2, "DELETE", `/v1/runs/${id}`)).status).toBe(404);
    expect(await tables(agentStub(E, ws, "ghost"))).toBe(0);
    expect(await tables(runStub(E, ws, id))).toBe(0);
  });
});

describe("DELETE /v1/runs/:id", () => {
  it("removes an ended run's record, output and index row; a live run is a 409", async () => {
    const a = await newAgent("del");
    const h = await host(a);
    const done = await submit(a, { argv: ["echo"], labels: { k: "v" } });
    await h.finish(done.id, 0);
    const live = await submit(a, { argv: ["sleep", "100"] });
    await indexed(a);
    expect((await call(a.t, "GET", "/v1/runs?label=k=v")).json.runs).toHaveLength(1);
    const conflict = await call(a.t, "DELETE", `/v1/runs/${live.id}`);
    expect(conflict.status).toBe(409);
    expect(conflict.type).toContain("application/problem+json");
    expect((await call(a.t, "DELETE", `/v1/runs/${done.id}`)).status).toBe(204);
    expect((await call(a.t, "GET", `/v1/runs/${done.id}`)).status).toBe(404);
    expect((await call(a.t, "GET", `/v1/runs/${done.id}/events`)).status).toBe(404);
    expect(await tables(runStub(E, a.ws, done.id))).toBe(0);
    expect((await call(a.t, "DELETE", `/v1/runs/${done.id}`)).status).toBe(404);
    await indexed(a);
    expect((await call(a.t, "GET", "/v1/runs")).json.runs.map((r: { id: string }) => r.id)).toEqual([live.id]);
    // Deleting needs the write scope.
    expect((await call(await workspaceToken(a.ws, ["runs:read"]), "DELETE", `/v1/runs/${live.id}`)).status).toBe(403);
    h.sock.sock.close(1000);
  });
});

describe("retention", () => {
  it("reaches the index: a run whose retention ended leaves the lists too", async () => {
    const a = await newAgent("old");
    const run = await submit(a, { argv: ["x"] });
    await call(a.t, "POST", `/v1/runs/${run.id}/cancel`);
    await indexed(a);
    expect((await call(a.t, "GET", "/v1/runs")).json.runs).toHaveLength(1);
    // As if it ended long ago, and the hourly sweep is due now.
    await runInDurableObject(a.stub, (_o, state) => {
      state.storage.sql.exec("UPDATE runs SET ended_at = 1");
      state.storage.sql.exec("UPDATE timers SET due_at = 0 WHERE key = 'retention'");
    });
    await runDurableObjectAlarm(a.stub);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).status).toBe(404);
    await indexed(a);
    expect((await call(a.t, "GET", "/v1/runs")).json.runs).toEqual([]);
  });
});

describe("GET /v1/agents/:agent/status", () => {
  it("says who is connected, what waits and why, what runs, what ended and how long things take", async () => {
    const a = await newAgent("stat");
    const h = await host(a, "box-1");
    const ok = await submit(a, { argv: ["true"] });
    await h.finish(ok.id, 0);
    const bad = await submit(a, { argv: ["false"] });
    await h.finish(bad.id, 1);
    const running = await submit(a, { argv: ["sleep", "100"] });
    expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: running.id });
    const waiting = await submit(a, { argv: ["echo", "later"] });
    const claude = await submit(a, { runner: "claude", prompt: "hi" });
    const s = (await call(a.t, "GET", "/v1/agents/stat/status")).json;
    expect(s.agent).toBe("stat");
    expect(s.hosts).toEqual([expect.objectContaining({ host_id: "box-1", hostname: "box", slots: 1, busy: 1, draining: false })]);
    expect(Date.parse(s.hosts[0].last_heard_at)).not.toBeNaN();
    expect(s.queue.depth).toBe(2);
    expect(s.queue.oldest_age_ms).toBeGreaterThanOrEqual(0);
    expect(s.queue.waiting).toEqual(expect.arrayContaining([{ reason: "every slot is busy", runs: 1 }, { reason: "no connected host has the claude runner", runs: 1 }]));
    expect(s.running.map((r: { id: string }) => r.id)).toEqual([running.id]);
    expect(s.recent.map((r: { id: string }) => r.id)).toEqual([bad.id, ok.id]);
    expect(s.ended.last_hour).toEqual({ succeeded: 1, failed: 1 });
    expect(s.ended.last_day).toEqual({ succeeded: 1, failed: 1 });
    expect(s.p50_wait_ms).toBeGreaterThanOrEqual(0);
    expect(s.p50_run_ms).toBeGreaterThanOrEqual(0);
    void waiting;
    void claude;
    // Reads of status need agents:read, and another workspace's agent of the same name is not this one.
    expect((await call(await workspaceToken(a.ws, ["runs:read"]), "GET", "/v1/agents/stat/status")).status).toBe(403);
    expect((await call(await workspaceToken(freshWorkspace()), "GET", "/v1/agents/stat/status")).status).toBe(404);
    h.sock.sock.close(1000);
  });
});
