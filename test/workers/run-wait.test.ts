/**
 * GET /v1/runs/:run/wait: held by the run's agent until the run ends or its timeout passes. It
 * costs the run no object (a watch makes one), answers what GET /v1/runs/:run answers, and is
 * refused like any read to a token that does not reach the run.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runStub } from "../../src/env.js";
import { LIMITS } from "../../src/protocol/limits.js";
import { call, tokenFor } from "./helpers.js";
import { enroll } from "./hosts.js";
import { E, newAgent, submit, type Agent } from "./index-helpers.js";

const tables = (a: Agent, id: string) =>
  runInDurableObject(runStub(E, a.ws, id), (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").one().n);

describe("waiting for a run to end", () => {
  it("answers once the run ends, with the run as GET answers it, and makes it no object", async () => {
    const a = await newAgent("waits");
    const h = await enroll(a.name, a.enrollToken, "h", { slots: 1 });
    const run = await submit(a, { argv: ["echo", "hi"] });
    expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: run.id });
    const waited = call(a.t, "GET", `/v1/runs/${run.id}/wait?timeout_s=20`);
    let answered = false;
    void waited.then(() => (answered = true));
    // Still running: the wait is held.
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("running");
    expect(answered).toBe(false);
    h.sock.send({ type: "finished", run_id: run.id, attempt: 1, pid: 9, reason: "exit", exit_code: 3, signal: null, error: null, output: [] });
    const r = await waited;
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: run.id, status: "failed", exit_code: 3 });
    expect(r.json).toEqual((await call(a.t, "GET", `/v1/runs/${run.id}`)).json);
    expect(await tables(a, run.id)).toBe(0);
  });

  it("answers an ended run at once, and a live one as it is after its timeout", async () => {
    const a = await newAgent("waits-timeout");
    const run = await submit(a, { argv: ["true"] });
    const now = await call(a.t, "GET", `/v1/runs/${run.id}/wait?timeout_s=0`);
    expect(now.json).toMatchObject({ id: run.id, status: "queued" });
    const later = await call(a.t, "GET", `/v1/runs/${run.id}/wait?timeout_s=1`);
    expect(later.json).toMatchObject({ id: run.id, status: "queued" });
    // Several waiters on one run all hear its end.
    const waits = [1, 2, 3].map(() => call(a.t, "GET", `/v1/runs/${run.id}/wait?timeout_s=20`));
    expect((await call(a.t, "POST", `/v1/runs/${run.id}/cancel`)).status).toBe(202);
    for (const w of await Promise.all(waits)) expect(w.json).toMatchObject({ id: run.id, status: "cancelled" });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/wait`)).json.status).toBe("cancelled");
  });

  it("refuses a bad timeout, an unknown run and a job token of another run, changing nothing", async () => {
    const a = await newAgent("waits-bad");
    const run = await submit(a, { argv: ["true"] });
    for (const q of ["timeout_s=61", "timeout_s=-1", "timeout_s=x", "other=1"]) {
      const r = await call(a.t, "GET", `/v1/runs/${run.id}/wait?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.type).toContain("application/problem+json");
    }
    const unknown = run.id.slice(0, -4) + "0000";
    expect((await call(a.t, "GET", `/v1/runs/${unknown}/wait?timeout_s=0`)).status).toBe(404);
    const other = await submit(a, { argv: ["true"] });
    const job = await tokenFor({ kind: "job", ws: a.ws, agent: a.name, run: other.id, attempt: 1 });
    expect((await call(job, "GET", `/v1/runs/${run.id}/wait?timeout_s=0`)).status).toBe(403);
    expect((await call(job, "GET", `/v1/runs/${other.id}/wait?timeout_s=0`)).json.status).toBe("queued");
    expect(await tables(a, run.id)).toBe(0);
  });
});

describe("submitting and waiting in one call (POST …/runs?wait_s=)", () => {
  it("answers the submit once the run has ended, with the run as GET answers it", async () => {
    const a = await newAgent("submit-waits");
    const h = await enroll(a.name, a.enrollToken, "h", { slots: 1 });
    let answered = false;
    const submitted = call(a.t, "POST", `/v1/agents/${a.name}/runs?wait_s=20`, { argv: ["echo", "hi"], idempotency_key: "once" });
    void submitted.then(() => (answered = true));
    const assign = await h.sock.next();
    expect(assign).toMatchObject({ type: "assign", attempt: 1 });
    const id = (assign as { run_id: string }).run_id;
    expect((await call(a.t, "GET", `/v1/runs/${id}`)).json.status).toBe("running");
    expect(answered).toBe(false);
    h.sock.send({ type: "finished", run_id: id, attempt: 1, pid: 9, reason: "exit", exit_code: 0, signal: null, error: null, output: [] });
    const r = await submitted;
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ id, status: "succeeded", exit_code: 0 });
    expect(r.json).toEqual((await call(a.t, "GET", `/v1/runs/${id}`)).json);
    // The same key again: the run it made, ended, at once.
    const again = await call(a.t, "POST", `/v1/agents/${a.name}/runs?wait_s=20`, { argv: ["echo", "hi"], idempotency_key: "once" });
    expect(again.status).toBe(200);
    expect(again.json).toEqual(r.json);
  });

  it("answers a run that has not ended as it is after wait_s, and at once without it", async () => {
    const a = await newAgent("submit-waits-timeout");
    const held = await call(a.t, "POST", `/v1/agents/${a.name}/runs?wait_s=1`, { argv: ["true"] });
    expect(held.status).toBe(201);
    expect(held.json.status).toBe("queued");
    const at = await call(a.t, "POST", `/v1/agents/${a.name}/runs?wait_s=0`, { argv: ["true"] });
    expect(at.json.status).toBe("queued");
    expect((await call(a.t, "GET", `/v1/agents/${a.name}`)).json.queued).toBe(2);
  });

  it("answers at once, never 429, when the run already has as many waiting as it may", async () => {
    const a = await newAgent("submit-waits-full");
    const body = { argv: ["true"], idempotency_key: "k" };
    const run = (await call(a.t, "POST", `/v1/agents/${a.name}/runs`, body)).json;
    // One more than may wait: the calls arrive in any order, and the one refused is the first answered.
    const waits = Array.from({ length: LIMITS.waitersPerRun + 1 }, () => call(a.t, "GET", `/v1/runs/${run.id}/wait?timeout_s=30`));
    // A 429 means the list was full, and it stays full while the run is queued.
    expect((await Promise.race(waits)).status).toBe(429);
    const again = await call(a.t, "POST", `/v1/agents/${a.name}/runs?wait_s=30`, body);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id: run.id, status: "queued" });
    expect((await call(a.t, "POST", `/v1/runs/${run.id}/cancel`)).status).toBe(202);
    const answers = await Promise.all(waits);
    expect(answers.filter((w) => w.status === 429)).toHaveLength(1);
    for (const w of answers.filter((w) => w.status !== 429)) expect(w.json.status).toBe("cancelled");
  });

  it("refuses a bad wait_s before it submits anything", async () => {
    const a = await newAgent("submit-waits-bad");
    for (const q of ["wait_s=61", "wait_s=-1", "wait_s=x", "wait_s=1.5", "timeout_s=1"]) {
      const r = await call(a.t, "POST", `/v1/agents/${a.name}/runs?${q}`, { argv: ["true"] });
      expect(r.status, q).toBe(400);
      expect(r.type).toContain("application/problem+json");
    }
    expect((await call(a.t, "GET", `/v1/agents/${a.name}`)).json.queued).toBe(0);
  });
});
