/** The run lifecycle's seams, each a failure the split between two objects once had. */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { Timers } from "../../src/agent/timers.js";
import { agentStub, runStub, type Env } from "../../src/env.js";
import { encodeBatch, STDOUT } from "../../src/protocol/frames.js";
import { call, freshWorkspace, tokenFor, workspaceToken } from "./helpers.js";
import { enroll, streamSocket } from "./hosts.js";

const E = env as unknown as Env;
const tables = (stub: DurableObjectStub) =>
  runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").one().n);

async function agent(name: string, config: Record<string, unknown> = {}) {
  const ws = freshWorkspace();
  const t = await workspaceToken(ws);
  const enrollToken = (await call(t, "POST", "/v1/agents", { name, config })).json.host_token as string;
  return { ws, t, enrollToken, stub: E.AGENT.get(E.AGENT.idFromName(`${ws}:${name}`)) };
}

describe("the run lifecycle", () => {
  it("reads never create: an unknown agent or run is a 404 that writes nothing", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    const id = `run_${"1".repeat(28)}_ghost`;
    for (const path of [`/v1/runs/${id}`, `/v1/runs/${id}/output`, `/v1/runs/${id}/watch`, "/v1/agents/ghost", "/v1/agents/ghost/hosts"]) {
      expect((await call(t, "GET", path)).status).toBe(404);
    }
    expect((await call(t, "POST", `/v1/runs/${id}/cancel`)).status).toBe(404);
    expect((await call(t, "POST", `/v1/runs/${id}/input`, { data: "x" })).status).toBe(404);
    expect(await tables(agentStub(E, ws, "ghost"))).toBe(0);
    expect(await tables(runStub(E, ws, id))).toBe(0);
  });

  it("a queued run costs no object of its own", async () => {
    const { ws, t } = await agent("lazy");
    const run = (await call(t, "POST", "/v1/agents/lazy/runs", { argv: ["true"] })).json;
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("queued");
    expect((await call(t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("");
    expect(await tables(runStub(E, ws, run.id))).toBe(0);
  });

  it("a cancel after the run was queued again for a retry is final: it never starts", async () => {
    const { t, enrollToken, stub } = await agent("final", { retry: { delay_ms: 0 } });
    const a = await enroll("final", enrollToken, "a");
    const run = (await call(t, "POST", "/v1/agents/final/runs", { argv: ["sleep", "100"] })).json;
    expect(await a.sock.next()).toMatchObject({ type: "assign", attempt: 1 });
    a.sock.send({ type: "bye" });
    expect((await a.sock.closed).code).toBe(1000);
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "queued" });
    const cancelled = (await call(t, "POST", `/v1/runs/${run.id}/cancel`)).json;
    expect(cancelled).toMatchObject({ status: "cancelled" });
    const b = await enroll("final", enrollToken, "b");
    await runDurableObjectAlarm(stub);
    expect((await call(t, "GET", "/v1/agents/final")).json).toMatchObject({ queued: 0, running: 0 });
    expect((await call(t, "POST", `/v1/runs/${run.id}/cancel`)).json.status).toBe("cancelled");
    b.sock.sock.close(1000);
  });

  it("a single host that restarts without its attempt gets the retry itself", async () => {
    const { t, enrollToken } = await agent("solo");
    const first = await enroll("solo", enrollToken, "only");
    const run = (await call(t, "POST", "/v1/agents/solo/runs", { argv: ["sleep", "100"], retry: { delay_ms: 0 } })).json;
    expect(await first.sock.next()).toMatchObject({ type: "assign", attempt: 1 });
    first.sock.sock.close(1000);
    // A new process under the same host id: it enrolls again and holds nothing.
    const again = await enroll("solo", enrollToken, "only");
    let msg = await again.sock.next();
    while (msg.type === "revoke") msg = await again.sock.next(); // the lost attempt's stop, for a process that is gone already
    expect(msg).toMatchObject({ type: "assign", run_id: run.id, attempt: 2 });
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "running", attempt: 2 });
  });

  it("a decision rolled back leaves its run queued, and a host that comes still gets it", async () => {
    const { t, enrollToken, stub } = await agent("rollback");
    const run = (await call(t, "POST", "/v1/agents/rollback/runs", { argv: ["true"] })).json;
    const undone = await runInDurableObject(stub, (o, state) => {
      try {
        state.storage.transactionSync(() => {
          // The cancel is decided and counted, then the transaction fails after it.
          (o as unknown as { lifecycle: { apply(id: string, e: object): unknown } }).lifecycle.apply(run.id, { type: "cancel", reason: "undone" });
          throw new Error("a failure after the decision");
        });
      } catch {
        return state.storage.sql.exec<{ status: string }>("SELECT status FROM runs WHERE id = ?", run.id).one().status;
      }
      return "committed";
    });
    expect(undone).toBe("queued");
    const host = await enroll("rollback", enrollToken, "late");
    expect(await host.sock.next()).toMatchObject({ type: "assign", run_id: run.id, attempt: 1 });
  });

  it("stores a run's output up to max_output_bytes, says so once, and the run ends normally", async () => {
    const { t, enrollToken } = await agent("cap", { max_output_bytes: 1024 });
    const h = await enroll("cap", enrollToken, "h");
    const run = (await call(t, "POST", "/v1/agents/cap/runs", { argv: ["yes"] })).json;
    await h.sock.next();
    const s = await streamSocket(run.id, 1, h.credential);
    s.send({ type: "hello", pid: 1 });
    await s.next();
    const big = new Uint8Array(700).fill(121);
    for (let seq = 1; seq <= 3; seq++) {
      s.send(encodeBatch(1, [{ seq, stream: STDOUT, data: big }]));
      expect(await s.next()).toEqual({ type: "ack", seq });
    }
    s.send({ type: "end", last_seq: 3, reason: "exit", exit_code: 0, signal: null, error: null });
    expect(await s.next()).toEqual({ type: "ended" });
    expect((await call(t, "GET", `/v1/runs/${run.id}/output`)).text.length).toBe(1024);
    const events = (await call(t, "GET", `/v1/runs/${run.id}/watch`)).text;
    expect(events.match(/output_truncated/g)).toHaveLength(1);
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("succeeded");
  });

  it("a run takes at most 100 live watchers; the next is told to come back", async () => {
    const { t } = await agent("crowd");
    const run = (await call(t, "POST", "/v1/agents/crowd/runs", { argv: ["true"] })).json;
    const fetcher = (exports as unknown as { default: Fetcher }).default;
    const open = () => fetcher.fetch(`https://tether.test/v1/runs/${run.id}/watch`, { headers: { authorization: `Bearer ${t}` } });
    const watchers = await Promise.all(Array.from({ length: 100 }, open));
    expect(watchers.every((r) => r.status === 200)).toBe(true);
    const refused = await open();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("5");
    // The run ends, and every watcher's stream ends with it.
    await call(t, "POST", `/v1/runs/${run.id}/cancel`);
    const texts = await Promise.all(watchers.map((r) => r.text()));
    expect(texts.every((x) => x.includes('"status":"cancelled"'))).toBe(true);
  });

  it("a timer whose handler throws is retried later and holds back no other timer", async () => {
    const { stub } = await agent("iso");
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const result = await runInDurableObject(stub, async (_o, state) => {
      const timers = new Timers(state.storage);
      const ran: string[] = [];
      timers.on("boom", z.object({}), () => {
        ran.push("boom");
        throw new Error("a handler that fails");
      });
      timers.on("fine", z.object({}), () => void ran.push("fine"));
      timers.set("t:boom", "boom", 1);
      timers.set("t:fine", "fine", 2);
      await timers.runDue(1000);
      const rows = state.storage.sql.exec<{ key: string; due_at: number }>("SELECT key, due_at FROM timers WHERE key LIKE 't:%'").toArray();
      return { ran, rows };
    });
    expect(result.ran).toEqual(["boom", "fine"]);
    // The one that threw is still there, moved on by its backoff; the one that ran is gone.
    expect(result.rows).toEqual([{ key: "t:boom", due_at: 2000 }]);
    expect(logged).toHaveBeenCalled();
    logged.mockRestore();
  });

  it("ensure sets a timer once; one lost behind its back is set again once its time has passed, one fired at once", async () => {
    const { stub } = await agent("ensure");
    const result = await runInDurableObject(stub, async (_o, state) => {
      const timers = new Timers(state.storage);
      const ran: string[] = [];
      timers.on("flush", z.object({}), () => void ran.push("flush"));
      const due = () => state.storage.sql.exec<{ due_at: number }>("SELECT due_at FROM timers WHERE key = 'e:flush'").toArray()[0]?.due_at ?? null;
      const t0 = Date.now();
      timers.ensure("e:flush", "flush", t0 + 50);
      timers.ensure("e:flush", "flush", t0 + 5_000);
      const first = due();
      // The row goes behind the memory's back, as a rolled-back transaction that set it would leave it.
      state.storage.sql.exec("DELETE FROM timers WHERE key = 'e:flush'");
      timers.ensure("e:flush", "flush", t0 + 5_000);
      const trusted = due();
      await scheduler.wait(60);
      timers.ensure("e:flush", "flush", Date.now() + 50);
      const healed = due();
      await timers.runDue(Date.now() + 100);
      const fired = due();
      timers.ensure("e:flush", "flush", Date.now() + 50);
      return { first, trusted, healed: healed !== null, fired, again: due() !== null, ran };
    });
    // The second ensure left the first row as it was.
    expect(result.first).toBeLessThan(Date.now() + 1_000);
    // Before the lost row's time, ensure trusts what it set; after it, it reads and sets it again.
    expect(result.trusted).toBeNull();
    expect(result.healed).toBe(true);
    expect(result.fired).toBeNull();
    expect(result.again).toBe(true);
    expect(result.ran).toEqual(["flush"]);
  });

  it("keeps the alarm by the earliest timer, reading the rows only when one may be earlier than the alarm", async () => {
    const { stub } = await agent("arm");
    const result = await runInDurableObject(stub, async (_o, state) => {
      const timers = new Timers(state.storage);
      timers.on("x", z.object({}), () => undefined);
      let reads = 0;
      const sql = state.storage.sql;
      const exec = sql.exec.bind(sql);
      sql.exec = ((q: string, ...a: SqlStorageValue[]) => (/ORDER BY due_at LIMIT 1$/.test(q) && reads++, exec(q, ...a))) as typeof sql.exec;
      const t0 = Date.now() + 3_600_000;
      const turn = () => scheduler.wait(1);
      const seen: { alarm: number | null; reads: number }[] = [];
      const look = async () => seen.push({ alarm: await state.storage.getAlarm(), reads });
      state.storage.sql.exec("DELETE FROM timers");
      await state.storage.deleteAlarm();
      timers.forget();
      timers.set("a:late", "x", t0 + 5_000);
      await turn();
      await look(); // set, read once (nothing known yet)
      timers.setAll([{ key: "a:later", kind: "x", dueAt: t0 + 9_000 }, { key: "a:latest", kind: "x", dueAt: t0 + 10_000 }]);
      await turn();
      await look(); // later than the alarm: nothing read, the alarm stays
      timers.set("a:early", "x", t0 + 1_000);
      await turn();
      await look(); // earlier: read, and the alarm moves
      timers.fired();
      await timers.runDue(t0 + 1_500);
      await turn();
      await look(); // a due pass: read, the next row arms it
      sql.exec = exec as typeof sql.exec;
      state.storage.sql.exec("DELETE FROM timers WHERE key LIKE 'a:%'");
      await state.storage.deleteAlarm();
      return { seen, t0 };
    });
    const { seen, t0 } = result;
    expect(seen).toEqual([
      { alarm: t0 + 5_000, reads: 1 },
      { alarm: t0 + 5_000, reads: 1 },
      { alarm: t0 + 1_000, reads: 2 },
      { alarm: t0 + 5_000, reads: 3 },
    ]);
  });

  it("clears several timers in one call and only those", async () => {
    const { stub } = await agent("clears");
    const left = await runInDurableObject(stub, async (_o, state) => {
      const timers = new Timers(state.storage);
      for (const k of ["c:a", "c:b", "c:c"]) timers.set(k, "x", Date.now() + 60_000);
      timers.clear("c:a", "c:c", "c:absent");
      timers.clear();
      return state.storage.sql.exec<{ key: string }>("SELECT key FROM timers WHERE key LIKE 'c:%'").toArray().map((r) => r.key);
    });
    expect(left).toEqual(["c:b"]);
  });

  it("keeps ended runs for retention_days, idempotency keys for a day and a key's queue bookkeeping while it is used, then removes them", async () => {
    const { t, stub } = await agent("keep", { retention_days: 1 });
    const run = (await call(t, "POST", "/v1/agents/keep/runs", { argv: ["true"], idempotency_key: "k" })).json;
    await call(t, "POST", `/v1/runs/${run.id}/cancel`);
    const live = (await call(t, "POST", "/v1/agents/keep/runs", { argv: ["true"], concurrency: { key: "tenant-live", limit: 1, strategy: "round_robin" } })).json;
    await runInDurableObject(stub, (_o, state) => {
      state.storage.sql.exec("UPDATE runs SET ended_at = 1 WHERE id = ?", run.id);
      state.storage.sql.exec("UPDATE idempotency SET created_at = 1");
      state.storage.sql.exec("INSERT INTO key_turns (ckey, served) VALUES ('tenant-gone', 1), ('tenant-live', 2)");
      state.storage.sql.exec("INSERT INTO key_starts (skey, at) VALUES ('old', 1), ('recent', ?)", Date.now());
      state.storage.sql.exec("UPDATE timers SET due_at = 1 WHERE kind = 'retention'");
    });
    await runDurableObjectAlarm(stub);
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).status).toBe(404);
    expect((await call(t, "GET", `/v1/runs/${live.id}`)).json.status).toBe("queued");
    const kept = await runInDurableObject(stub, (_o, state) => ({
      turns: state.storage.sql.exec("SELECT ckey FROM key_turns").toArray().map((r) => r.ckey),
      starts: state.storage.sql.exec("SELECT skey FROM key_starts").toArray().map((r) => r.skey),
    }));
    expect(kept).toEqual({ turns: ["tenant-live"], starts: ["recent"] });
    const again = await call(t, "POST", "/v1/agents/keep/runs", { argv: ["true"], idempotency_key: "k" });
    expect(again.status).toBe(201);
    expect(again.json.id).not.toBe(run.id);
  });

  it("deleting an agent with 10,000 queued runs cancels every one, and each stays readable", { timeout: 300_000 }, async () => {
    const { ws, t } = await agent("many");
    const stub = agentStub(E, ws, "many");
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const batch = await Promise.all(Array.from({ length: 1000 }, () => stub.submit({ argv: ["true"] })));
      ids.push(...batch.map((s) => (s && "run" in s ? s.run.id : "")));
    }
    // Every run through its owner, and every 50th through the API as a client reads it.
    const statuses = async () => {
      const seen = new Set<string | undefined>();
      for (let i = 0; i < ids.length; i += 1000) {
        for (const r of await Promise.all(ids.slice(i, i + 1000).map((id) => stub.getRun(id)))) seen.add(r?.status);
      }
      const sample = ids.filter((_, i) => i % 50 === 0);
      for (let i = 0; i < sample.length; i += 100) {
        const api = await Promise.all(sample.slice(i, i + 100).map((id) => call(t, "GET", `/v1/runs/${id}`)));
        expect(api.every((r) => r.status === 200)).toBe(true);
        for (const r of api) seen.add(r.json.status);
      }
      return seen;
    };
    expect(await statuses()).toEqual(new Set(["queued"]));
    expect((await call(t, "DELETE", "/v1/agents/many")).status).toBe(204);
    expect(await statuses()).toEqual(new Set(["cancelled"]));
    expect((await call(t, "GET", "/v1/agents/many")).status).toBe(404);
  });

  it("an agent made again under an old name accepts none of its earlier life's tokens", async () => {
    const { t, enrollToken } = await agent("reborn");
    const h = await enroll("reborn", enrollToken, "h");
    h.sock.sock.close(1000);
    expect((await call(t, "DELETE", "/v1/agents/reborn")).status).toBe(204);
    expect((await call(t, "POST", "/v1/agents", { name: "reborn" })).status).toBe(201);
    for (const old of [enrollToken, h.credential]) {
      expect((await call(old, "GET", "/v1/agents/reborn/connect", undefined, { upgrade: "websocket" })).status).toBe(401);
    }
  });
});

describe("children", () => {
  it("nest at most 5 deep, and a run has at most 100, each refusal saying which limit", { timeout: 60_000 }, async () => {
    const { ws, t } = await agent("nest");
    const jobToken = (run: string) => tokenFor({ kind: "job", ws, agent: "nest", run, attempt: 1 });
    let parent = (await call(t, "POST", "/v1/agents/nest/runs", { argv: ["true"] })).json.id as string;
    for (let depth = 1; depth <= 5; depth++) {
      const child = await call(await jobToken(parent), "POST", "/v1/agents/nest/runs", { argv: ["true"] });
      expect(child.status).toBe(201);
      expect(child.json.parent_run_id).toBe(parent);
      parent = child.json.id;
    }
    const tooDeep = await call(await jobToken(parent), "POST", "/v1/agents/nest/runs", { argv: ["true"] });
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.json.detail).toMatch(/at most 5 deep/);

    const root = (await call(t, "POST", "/v1/agents/nest/runs", { argv: ["true"] })).json.id as string;
    const token = await jobToken(root);
    for (let i = 0; i < 100; i++) expect((await call(token, "POST", "/v1/agents/nest/runs", { argv: ["true"] })).status).toBe(201);
    const tooMany = await call(token, "POST", "/v1/agents/nest/runs", { argv: ["true"] });
    expect(tooMany.status).toBe(429);
    expect(tooMany.json.detail).toMatch(/at most 100 children/);
    expect((await call(token, "GET", `/v1/runs/${root}/children`)).json.runs).toHaveLength(100);
  });
});

describe("live input from a hostile client", () => {
  it("refuses text that is not base64 with a 400 that says so, and queues nothing", async () => {
    const { t } = await agent("b64");
    const run = (await call(t, "POST", "/v1/agents/b64/runs", { argv: ["cat"], stdin: { mode: "pipe" } })).json;
    for (const data_base64 of ["abc", "a===", "!!!!"]) {
      const r = await call(t, "POST", `/v1/runs/${run.id}/input`, { data_base64 });
      expect(r.status).toBe(400);
      expect(r.json.detail).toMatch(/not base64/);
    }
    expect((await call(t, "GET", `/v1/runs/${run.id}/input`)).json.waiting).toEqual([]);
  });
});
