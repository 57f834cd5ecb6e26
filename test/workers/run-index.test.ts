/** The workspace index in D1: lists, filters, paging, isolation, and convergence when D1 fails. */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import type { IndexOutbox } from "../../src/agent/index-outbox.js";
import { writeIndex, type IndexItem } from "../../src/index/write.js";
import type { Run } from "../../src/protocol/run.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";
import { E, host, indexed, newAgent, submit } from "./index-helpers.js";

const ids = (res: { json: { runs: { id: string }[] } }) => res.json.runs.map((r) => r.id);

/** A run as its agent would write it to the index, for rows the tests place by hand. */
function fakeRun(n: number, over: Partial<Run> = {}): Run {
  const agent = over.agent ?? "a";
  return {
    id: `run_${n.toString(16).padStart(28, "0")}_${agent}`, agent, status: "succeeded", argv: ["echo", String(n)], stdin_pipe: false, runner: null,
    labels: {}, inputs: {}, result: null, timeout_ms: 1000, retry: { max_attempts: 1, on: [], delay_ms: 0, backoff: "fixed", max_delay_ms: 0 },
    attempt: 1, exit_code: 0, signal: null, error: null, cancel_requested: false, schedule_id: null, scheduled_for: null, parent_run_id: null,
    detached: false, approval: null, priority: 5, concurrency: null, dedup_key: null, requires: {}, prefer: {}, created_at: new Date(1_700_000_000_000 + n * 1000).toISOString(), started_at: null, ended_at: null, ...over,
  };
}
const put = (ws: string, runs: Run[], version = 1) => writeIndex(E.INDEX, ws, runs.map((run): IndexItem => ({ kind: "run", version, run })));

async function pageAll(t: string, query: string, limit: number, between?: (page: number) => Promise<void>) {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; ; page++) {
    const res = await call(t, "GET", `/v1/runs?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status).toBe(200);
    seen.push(...ids(res));
    cursor = res.json.next_cursor;
    if (!cursor) return seen;
    await between?.(page);
  }
}

describe("GET /v1/runs from the index", () => {
  it("lists the truth of real runs: agent, several statuses and labels together", async () => {
    const a = await newAgent("build");
    const b = await newAgent("deploy", a.ws);
    const h = await host(a);
    const ok = await submit(a, { argv: ["make"], labels: { pr: "123", team: "x" } });
    await h.finish(ok.id, 0);
    const bad = await submit(a, { argv: ["make", "test"], labels: { pr: "123" } });
    await h.finish(bad.id, 2);
    const other = await submit(a, { argv: ["make"], labels: { pr: "124" } });
    await h.finish(other.id, 3);
    const queued = await submit(b, { argv: ["ship"], labels: { pr: "123" } });
    const cancelled = await submit(b, { argv: ["ship"], labels: { pr: "123" } });
    expect((await call(a.t, "POST", `/v1/runs/${cancelled.id}/cancel`)).status).toBe(202);
    await indexed(a, b);
    expect(ids(await call(a.t, "GET", "/v1/runs"))).toEqual([cancelled.id, queued.id, other.id, bad.id, ok.id]);
    expect(ids(await call(a.t, "GET", "/v1/runs?status=failed&label=pr=123"))).toEqual([bad.id]);
    expect(ids(await call(a.t, "GET", "/v1/runs?status=failed,succeeded"))).toEqual([other.id, bad.id, ok.id]);
    expect(ids(await call(a.t, "GET", "/v1/runs?label=pr=123,team=x"))).toEqual([ok.id]);
    expect(ids(await call(a.t, "GET", "/v1/runs?agent=deploy"))).toEqual([cancelled.id, queued.id]);
    expect(ids(await call(a.t, "GET", "/v1/runs?agent=deploy&status=queued"))).toEqual([queued.id]);
    const failed = (await call(a.t, "GET", "/v1/runs?status=failed&label=pr=123")).json.runs[0];
    expect(failed).toMatchObject({ id: bad.id, agent: "build", status: "failed", exit_code: 2, argv: ["make", "test"], labels: { pr: "123" }, result_summary: null });
    expect(failed.inputs).toBeUndefined();
    // The agents list comes from the same index, with the counts each agent last wrote.
    const agents = (await call(a.t, "GET", "/v1/agents")).json;
    expect(agents.agents.map((x: { name: string }) => x.name)).toEqual(["build", "deploy"]);
    expect(agents.agents[1]).toMatchObject({ name: "deploy", queued: 1, running: 0, hosts: 0 });
    expect(agents.agents[0]).toMatchObject({ name: "build", queued: 0, running: 0, hosts: 1 });
    // A host that goes is counted out, with no run changing.
    h.sock.sock.close(1000);
    await h.sock.closed;
    const hostsOf = async () => (await indexed(a), (await call(a.t, "GET", "/v1/agents")).json.agents[0].hosts);
    for (let i = 0; (await hostsOf()) !== 0 && i < 50; i++) await a.stub.indexPending();
    expect(await hostsOf()).toBe(0);
  });

  it("indexes a flush of runs whose labels and commands fill megabytes, every one with its labels", async () => {
    const a = await newAgent("heavy");
    // 64 labels of about 256 bytes and a 1 KB command: about 18 KB a run as the index writes it, so a flush of 100 is split.
    const labels = Object.fromEntries(Array.from({ length: 63 }, (_, i) => [`k${i}`, `${i}`.padEnd(256, "v")]));
    const runs = Array.from({ length: 150 }, (_, i) => ({ argv: ["echo", `${i}`.padEnd(1024, "x")], labels: { ...labels, n: String(i) } }));
    const made: string[] = [];
    for (const part of [runs.slice(0, 50), runs.slice(50, 100), runs.slice(100)]) {
      const r = await call(a.t, "POST", `/v1/agents/${a.name}/runs/batch`, { runs: part });
      expect(r.status, r.text).toBe(200);
      made.push(...r.json.results.map((x: { run: { id: string } }) => x.run.id));
    }
    await indexed(a);
    const all = new Set<string>();
    for (let cursor: string | null = null, i = 0; i === 0 || cursor; i++) {
      const page: { runs: { id: string }[]; next_cursor: string | null } = (await call(a.t, "GET", `/v1/runs?agent=heavy&label=k62=${labels.k62}&limit=100${cursor ? `&cursor=${cursor}` : ""}`)).json;
      for (const r of page.runs) all.add(r.id);
      cursor = page.next_cursor;
    }
    expect(all).toEqual(new Set(made));
    expect(ids(await call(a.t, "GET", "/v1/runs?label=n=149"))).toEqual([made[149]]);
  });

  it("every filter: schedule, parent, created_after/before, q, and their combinations", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    const runs = [
      fakeRun(1, { schedule_id: "sch_1", argv: ["deploy", "prod"] }),
      fakeRun(2, { schedule_id: "sch_1", argv: ["deploy", "staging"], status: "failed" }),
      fakeRun(3, { parent_run_id: fakeRun(1).id, argv: ["test"] }),
      fakeRun(4, { agent: "b", argv: ["deploy", "prod", "--now"] }),
    ];
    await put(ws, runs);
    const [r1, r2, r3, r4] = runs.map((r) => r.id);
    expect(ids(await call(t, "GET", "/v1/runs?schedule=sch_1"))).toEqual([r2, r1]);
    expect(ids(await call(t, "GET", `/v1/runs?parent=${r1}`))).toEqual([r3]);
    expect(ids(await call(t, "GET", `/v1/runs?created_after=${runs[1]!.created_at}`))).toEqual([r4, r3]);
    expect(ids(await call(t, "GET", `/v1/runs?created_before=${runs[1]!.created_at}`))).toEqual([r1]);
    expect(ids(await call(t, "GET", `/v1/runs?created_after=${runs[0]!.created_at}&created_before=${runs[3]!.created_at}`))).toEqual([r3, r2]);
    expect(ids(await call(t, "GET", "/v1/runs?q=deploy%20prod"))).toEqual([r4, r1]);
    expect(ids(await call(t, "GET", "/v1/runs?q=deploy&status=failed"))).toEqual([r2]);
    expect(ids(await call(t, "GET", "/v1/runs?q=deploy&agent=b"))).toEqual([r4]);
    expect(ids(await call(t, "GET", "/v1/runs?q=prod"))).toEqual([]);
  });

  it("bad queries are 400 problems, never 500s", async () => {
    const t = await workspaceToken(freshWorkspace());
    for (const q of ["status=done", "limit=0", "limit=201", "label=novalue", "label==x", "created_after=yesterday", "cursor=%%%", "cursor=bm90LWpzb24", "cursor=WzEsMl0", "agent=Not_A_Slug", "color=red"]) {
      const res = await call(t, "GET", `/v1/runs?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.type).toContain("application/problem+json");
    }
    expect((await call(t, "GET", "/v1/agents?cursor=zz!")).status).toBe(400);
  });

  it("pages stay stable while runs are added: none skipped, none repeated", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    const first = Array.from({ length: 230 }, (_, i) => fakeRun(1000 + i));
    // Some share a creation time: the id breaks the tie, so the order is total.
    first.push(...Array.from({ length: 20 }, (_, i) => fakeRun(5000 + i, { created_at: first[100]!.created_at })));
    await put(ws, first);
    let next = 9000;
    const seen = await pageAll(t, "", 40, async () => {
      // Between pages, new runs arrive (newer than any page), and an old one changes status.
      await put(ws, Array.from({ length: 15 }, () => fakeRun(next++, { created_at: new Date().toISOString() })));
      await put(ws, [fakeRun(1000, { status: "failed" })], 2);
    });
    expect(seen.length).toBe(first.length);
    expect(new Set(seen).size).toBe(seen.length);
    expect(new Set(seen)).toEqual(new Set(first.map((r) => r.id)));
    // Filtered pages keep the same promise.
    const some = await pageAll(t, "&status=succeeded,failed&q=echo", 7);
    expect(new Set(some).size).toBe(some.length);
    // And pages walked down a label's index, with ties on the creation time.
    const labelled = Array.from({ length: 30 }, (_, i) => fakeRun(20_000 + i, { labels: { team: "x", n: String(i % 2) }, created_at: first[i % 3]!.created_at }));
    await put(ws, labelled);
    const byLabel = await pageAll(t, "&label=team=x", 4);
    expect(byLabel).toEqual([...labelled].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || (a.id < b.id ? 1 : -1)).map((r) => r.id));
    expect(await pageAll(t, "&label=team=x,n=1", 4)).toEqual(byLabel.filter((id) => labelled.find((r) => r.id === id)!.labels.n === "1"));
  });

  it("every list is isolated by workspace", async () => {
    const a = await newAgent("same");
    const b = await newAgent("same");
    const ra = await submit(a, { argv: ["x"], labels: { k: "v" } });
    const rb = await submit(b, { argv: ["x"], labels: { k: "v" } });
    await indexed(a, b);
    for (const [who, mine, theirs] of [[a, ra, rb], [b, rb, ra]] as const) {
      expect(ids(await call(who.t, "GET", "/v1/runs?label=k=v&agent=same&q=x"))).toEqual([mine.id]);
      expect((await call(who.t, "GET", "/v1/agents")).json.agents).toHaveLength(1);
      for (const path of [`/v1/runs/${theirs.id}/events`, `/v1/runs/${theirs.id}/batch`]) expect((await call(who.t, "GET", path)).status).toBe(404);
      expect((await call(who.t, "DELETE", `/v1/runs/${theirs.id}`)).status).toBe(404);
    }
    expect((await call(await workspaceToken(freshWorkspace()), "GET", "/v1/runs")).json).toEqual({ runs: [], next_cursor: null });
  });

  it("GET /v1/agents pages by name and leaves deleted agents out; a re-created one comes back", async () => {
    const a = await newAgent("alpha");
    const b = await newAgent("beta", a.ws);
    const c = await newAgent("gamma", a.ws);
    expect((await call(a.t, "DELETE", "/v1/agents/beta")).status).toBe(204);
    await indexed(a, b, c);
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { json: { agents: { name: string }[]; next_cursor: string | null } } = await call(a.t, "GET", `/v1/agents?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      names.push(...page.json.agents.map((x) => x.name));
      cursor = page.json.next_cursor;
    } while (cursor);
    expect(names).toEqual(["alpha", "gamma"]);
    expect((await call(a.t, "POST", "/v1/agents", { name: "beta" })).status).toBe(201);
    await indexed(b);
    expect((await call(a.t, "GET", "/v1/agents")).json.agents.map((x: { name: string }) => x.name)).toEqual(["alpha", "beta", "gamma"]);
  });

  it("lists need a workspace token with the read scope", async () => {
    const t = await workspaceToken(freshWorkspace(), ["agents:read"]);
    expect((await call(t, "GET", "/v1/runs")).status).toBe(403);
    expect((await call(t, "GET", "/v1/agents")).status).toBe(200);
  });
});

describe("the index converges", () => {
  it("after D1 fails: the marks stay, the alarm retries, and the index ends at the truth", async () => {
    const a = await newAgent("flaky");
    // Each failed flush is logged with its retry; the test reads the log instead of printing it.
    const log = vi.spyOn(console, "error").mockImplementation(() => undefined);
    onTestFinished(() => log.mockRestore());
    let down = true;
    let failures = 0;
    await runInDurableObject(a.stub, (o) => {
      const index = (o as unknown as { index: IndexOutbox }).index;
      const real = index.db;
      index.db = {
        prepare: real.prepare.bind(real),
        batch: (s) => (down ? (failures++, Promise.reject(new Error("D1 is down"))) : real.batch(s)),
      };
    });
    const runs = [await submit(a, { argv: ["one"] }), await submit(a, { argv: ["two"] })];
    await call(a.t, "POST", `/v1/runs/${runs[0]!.id}/cancel`);
    expect(await a.stub.flushIndex()).toBe(false);
    // The alarm flushes a moment after the marks: bring it forward.
    await runInDurableObject(a.stub, (_o, state) => state.storage.sql.exec("UPDATE timers SET due_at = 0 WHERE key = 'index'"));
    await runDurableObjectAlarm(a.stub);
    expect(await a.stub.indexPending()).toBeGreaterThan(0);
    expect((await call(a.t, "GET", "/v1/runs")).json.runs).toEqual([]);
    expect(failures).toBeGreaterThanOrEqual(2);
    down = false;
    // The retry is the alarm's: bring its backoff forward instead of waiting it out.
    for (let i = 0; (await a.stub.indexPending()) > 0 && i < 10; i++) {
      await runInDurableObject(a.stub, (_o, state) => state.storage.sql.exec("UPDATE timers SET due_at = 0 WHERE key = 'index'"));
      await runDurableObjectAlarm(a.stub);
    }
    expect(await a.stub.indexPending()).toBe(0);
    const listed = (await call(a.t, "GET", "/v1/runs")).json.runs;
    expect(listed.map((r: Run) => [r.id, r.status])).toEqual([[runs[1]!.id, "queued"], [runs[0]!.id, "cancelled"]]);
    expect(log.mock.calls.some(([m]) => /^timer index failed \(try 1\); retrying in \d+ ms:$/.test(String(m)))).toBe(true);
  });

  /** Cancels these runs once the first flush has read them queued, before D1 takes its batch. */
  const cancelMidFlush = (a: Awaited<ReturnType<typeof newAgent>>, ids: string[]) =>
    runInDurableObject(a.stub, (o) => {
      const agent = o as unknown as { index: IndexOutbox; lifecycle: { apply(id: string, e: object): unknown } };
      const real = agent.index.db;
      let once = false;
      agent.index.db = {
        prepare: real.prepare.bind(real),
        batch: (s) => {
          if (!once) {
            once = true;
            for (const id of ids) agent.lifecycle.apply(id, { type: "cancel", reason: "mid-flush" });
          }
          return real.batch(s);
        },
      };
    });

  it("a decision made while a flush is on its way to D1 reaches the index after it", async () => {
    const a = await newAgent("midflush");
    const run = await submit(a, { argv: ["one"] });
    await cancelMidFlush(a, [run.id]);
    // The flush goes on until no mark is left unsent: the cancel's mark, made while it sent, included.
    expect(await a.stub.flushIndex()).toBe(true);
    expect(await a.stub.indexPending()).toBe(0);
    expect((await call(a.t, "GET", "/v1/runs")).json.runs.map((r: Run) => r.status)).toEqual(["cancelled"]);
    const listed = (await call(a.t, "GET", "/v1/agents")).json.agents.find((x: { name: string }) => x.name === "midflush");
    expect(listed).toMatchObject({ queued: 0 });
  });

  it("decisions on several runs made while a flush is on its way to D1 all reach the index, the agent's counts too", async () => {
    const a = await newAgent("midflush2");
    const runs = [await submit(a, { argv: ["one"] }), await submit(a, { argv: ["two"] })];
    // The agent's row is marked twice while the flush is in flight.
    await cancelMidFlush(a, runs.map((r) => r.id));
    expect(await a.stub.flushIndex()).toBe(true);
    expect(await a.stub.indexPending()).toBe(0);
    expect((await call(a.t, "GET", "/v1/runs")).json.runs.map((r: Run) => r.status)).toEqual(["cancelled", "cancelled"]);
    const listed = (await call(a.t, "GET", "/v1/agents")).json.agents.find((x: { name: string }) => x.name === "midflush2");
    expect(listed).toMatchObject({ queued: 0 });
  });

  it("never goes backwards: an older flush landing after a newer one changes nothing, and a delete stays deleted", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    const run = fakeRun(7, { status: "queued", labels: { pr: "9" } });
    await put(ws, [{ ...run, status: "succeeded" }], 5);
    await put(ws, [{ ...run, status: "running" }], 4);
    await put(ws, [{ ...run, status: "queued" }], 5);
    expect((await call(t, "GET", "/v1/runs")).json.runs.map((r: Run) => r.status)).toEqual(["succeeded"]);
    expect((await call(t, "GET", "/v1/runs?label=pr=9")).json.runs.map((r: Run) => r.status)).toEqual(["succeeded"]);
    await writeIndex(E.INDEX, ws, [{ kind: "run-gone", version: 6, id: run.id, agent: "a" }]);
    await put(ws, [{ ...run, status: "succeeded" }], 5);
    expect((await call(t, "GET", "/v1/runs")).json.runs).toEqual([]);
    // Nor do its labels come back with the late flush.
    expect((await call(t, "GET", "/v1/runs?label=pr=9")).json.runs).toEqual([]);
  });
});
