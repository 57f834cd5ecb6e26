/**
 * Random and mutated requests over every route of the app (read from app.routes): bodies,
 * headers, queries, path ids and tokens. Never a 5xx, and never a change of state on a 4xx:
 * the workspace's state is read before and after each request.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { signToken } from "../../src/auth/tokens.js";
import { agentStub, workspaceStub, type Env } from "../../src/env.js";
import { routeAccess } from "../../src/http/access.js";
import { app } from "../../src/http/app.js";
import { newRunId } from "../../src/protocol/ids.js";
import { SCOPES } from "../../src/protocol/token.js";
import { anyJson, mutated, nameLike, oddString, REQUESTS, SEED } from "./fuzz-helpers.js";
import { call, freshWorkspace, KEY, tokenFor, workspaceToken } from "./helpers.js";

const E = env as unknown as Env;
const AGENT = "fz";
const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;

const job = { argv: ["echo", "hi"], env: { A: "1" }, labels: { k: "v" }, timeout_ms: 60_000 };
/** A valid body per route (where one is read), for mutation. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  "POST /v1/agents": { name: "fz-new", config: { lease_ttl_ms: 30_000 } },
  "PATCH /v1/agents/:agent": { config: { retention_days: 3 } },
  "POST /v1/agents/:agent/runs": { ...job, idempotency_key: "k", inputs: { x: { a: 1 } } },
  "POST /v1/agents/:agent/runs/batch": { runs: [{ ...job, idempotency_key: "b" }, { argv: ["true"], dedup_key: "d", priority: 3 }] },
  "POST /v1/runs/:run/input": { data: "hello", eof: false },
  "POST /v1/agents/:agent/schedules": { cron: "0 3 1 1 *", run: job, enabled: false, overlap: "skip", timezone: "UTC" },
  "PATCH /v1/schedules/:id": { cron: "0 4 1 1 *", enabled: false },
  "POST /v1/tokens": { name: "fz", scopes: ["runs:read"], ttl: 600 },
  "POST /v1/id-token": { audience: "https://cloud.example" },
};

interface Fixture {
  ws: string;
  run: string;
  schedule: string;
}

async function makeFixture(ws: string): Promise<Fixture> {
  const t = await workspaceToken(ws);
  await call(t, "POST", "/v1/agents", { name: AGENT });
  const run = (await call(t, "POST", `/v1/agents/${AGENT}/runs`, job)).json;
  const schedule = (await call(t, "POST", `/v1/agents/${AGENT}/schedules`, SAMPLES["POST /v1/agents/:agent/schedules"])).json;
  return { ws, run: run.id, schedule: schedule.id };
}

/** Bookkeeping that moves on its own after a 2xx (timers, outboxes flushed later), not state a request sets. */
const BOOKKEEPING = new Set(["_schema", "timers", "outbox", "index_outbox", "schedule_sync"]);

/**
 * An object's state: SQLite's count of rows changed on its connection (cheap), and on demand every
 * row of its tables, bookkeeping aside, read inside the object in one call.
 */
function tables(stub: DurableObjectStub, full: boolean): Promise<{ changes: number; dump: string | null }> {
  return runInDurableObject(stub, (_: unknown, st: DurableObjectState) => {
    const sql = st.storage.sql;
    const changes = sql.exec<{ n: number }>("SELECT total_changes() AS n").one().n;
    if (!full) return { changes, dump: null };
    const names = sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' ORDER BY name")
      .toArray()
      .map((r) => r.name)
      .filter((n) => !BOOKKEEPING.has(n));
    return { changes, dump: JSON.stringify(names.map((n) => [n, sql.exec(`SELECT * FROM "${n}"`).toArray()])) };
  });
}

interface State {
  changes: number[];
  dump: string;
}

/** The agent's and the workspace's objects: everything a request could change that the fuzzer can see. */
async function fullState(f: Fixture): Promise<State> {
  const parts = await Promise.all([tables(agentStub(E, f.ws, AGENT) as never, true), tables(workspaceStub(E, f.ws) as never, true)]);
  return { changes: parts.map((p) => p.changes), dump: parts.map((p) => p.dump).join("") };
}

/**
 * The state after a request, when it may differ from `before`: if no row changed on either
 * object, it is `before`; otherwise every row is read again (a timer or an outbox may have
 * written bookkeeping, which the comparison leaves out).
 */
async function stateAfter(f: Fixture, before: State): Promise<State> {
  const counts = await Promise.all([tables(agentStub(E, f.ws, AGENT) as never, false), tables(workspaceStub(E, f.ws) as never, false)]);
  if (counts.every((c, i) => c.changes === before.changes[i])) return before;
  return fullState(f);
}

/**
 * The bindings, watched: whether a request asked for any Durable Object. Every object a request
 * reaches it reaches through these, so one that asked for none changed none.
 */
function watched(): { env: Env; touched: () => boolean } {
  let touched = false;
  const watch = <T extends object>(ns: T): T =>
    new Proxy(ns, {
      get(target, prop) {
        const v = Reflect.get(target, prop) as unknown;
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          if (prop === "get" || prop === "getByName") touched = true;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return { env: { ...E, AGENT: watch(E.AGENT), RUN: watch(E.RUN), WORKSPACE: watch(E.WORKSPACE) }, touched: () => touched };
}

/** Lanes run side by side, each in a workspace of its own, so each lane's before and after are its own. */
const LANES = 8;
const routes = [...routeAccess(app.routes).keys()].map((k) => ({ key: k, method: k.split(" ")[0]!, path: k.split(" ")[1]! }));

async function lane(seed: number, runs: number, statuses: Map<number, number>): Promise<number> {
  const ws = freshWorkspace();
  let f = await makeFixture(ws);
  const now = Math.floor(Date.now() / 1000);
  const tokens = [
    await workspaceToken(ws),
    ...(await Promise.all(SCOPES.map((s) => workspaceToken(ws, [s])))),
    await workspaceToken(freshWorkspace()),
    await tokenFor({ kind: "job", ws, agent: AGENT, run: f.run, attempt: 1 }),
    await tokenFor({ kind: "host", ws, agent: AGENT, host: "h1", gen: 1, inc: "x" }),
    await tokenFor({ kind: "enroll", ws, agent: AGENT, gen: 1, inc: "x" }),
    await signToken(KEY, { kind: "workspace", ws, scopes: ["*"] }, 60, { issuedAt: now - 3600 }),
    "garbage",
    "",
  ];

  const param = (name: string) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constant(name === "agent" ? AGENT : name === "run" ? "$run" : name === "id" ? "$schedule" : "h1") },
      { weight: 2, arbitrary: fc.constantFrom(newRunId(AGENT), "sch_00000000000000000000_fz", "tok_00000000000000000000", "nobody", "h2") },
      { weight: 3, arbitrary: oddString },
    );
  const request = fc
    .constantFrom(...routes)
    .chain((r) =>
      fc.record({
        route: fc.constant(r),
        method: fc.oneof({ weight: 9, arbitrary: fc.constant(r.method) }, { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND") }),
        params: fc.tuple(...(r.path.match(/:\w+/g) ?? [":none"]).map((p) => param(p.slice(1)))),
        query: fc.dictionary(fc.oneof(fc.constantFrom("after", "limit", "cursor", "status", "agent", "stream", "attempt", "output", "count", "from", "log_cursor", "event_cursor"), oddString), oddString, { maxKeys: 3 }),
        token: fc.oneof({ weight: 6, arbitrary: fc.constant(tokens[0]!) }, { weight: 4, arbitrary: fc.constantFrom(...tokens) }, { weight: 1, arbitrary: fc.constant(null) }),
        contentType: fc.oneof({ weight: 8, arbitrary: fc.constant("application/json") }, { weight: 2, arbitrary: fc.constantFrom("text/plain", "application/merge-patch+json", "multipart/form-data", "") }),
        headers: fc.dictionary(fc.oneof(fc.constantFrom("last-event-id", "accept", "origin", "content-encoding", "x-tether-claims", "upgrade", "range"), nameLike(1, 20).map((n) => `x-${n}`)), fc.string({ maxLength: 60 }), { maxKeys: 3 }),
        body: fc.oneof(
          { weight: 2, arbitrary: fc.constant(undefined) },
          { weight: 5, arbitrary: mutated(SAMPLES[r.key] ?? { x: 1 }).map((v) => JSON.stringify(v)) },
          { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
          { weight: 1, arbitrary: oddString },
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
        ),
      }),
    );

  let sent = 0;
  let before = await fullState(f);
  await fc.assert(
    fc.asyncProperty(request, async (q) => {
      const ids = (v: string) => v.replace("$run", f.run).replace("$schedule", f.schedule);
      let i = 0;
      const path = q.route.path.replace(/:\w+/g, () => {
        const v = ids(q.params[i++]!);
        try {
          return encodeURIComponent(v);
        } catch {
          return v;
        }
      });
      const search = new URLSearchParams(Object.entries(q.query).map(([k, v]): [string, string] => [k.replace(/[^\x20-\x7e]/g, ""), v.replace(/[^\x20-\x7e]/g, "")]));
      const headers: Record<string, string> = { ...q.headers };
      if (q.contentType) headers["content-type"] = q.contentType;
      if (q.token !== null) headers.authorization = `Bearer ${q.token}`;
      const hasBody = q.body !== undefined && q.method !== "GET" && q.method !== "HEAD";
      let req: Request;
      try {
        req = new Request(`https://tether.test${path}${search.size ? `?${search}` : ""}`, { method: q.method, headers, ...(hasBody && { body: q.body as BodyInit }) });
      } catch {
        return; // Not a request a client could send.
      }
      const seen = watched();
      const res = await app.fetch(req, seen.env, ctx);
      sent++;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      // A live stream never ends and a socket stays open: close them rather than read them.
      if (res.webSocket) {
        res.webSocket.accept();
        res.webSocket.close(1000, "fuzz");
      } else if (res.headers.get("content-type")?.startsWith("text/event-stream")) await res.body?.cancel();
      else await res.arrayBuffer();
      expect(res.status, `${q.method} ${path}: ${res.status}`).toBeLessThan(500);
      if (res.status >= 400) {
        // A request that never asked for an object cannot have changed one: no read needed.
        if (!seen.touched()) return;
        const after = await stateAfter(f, before);
        expect(after.dump, `${q.method} ${path} answered ${res.status} and changed state`).toBe(before.dump);
        before = after;
        return;
      }
      if (!seen.touched()) return;
      // A 2xx may delete the fixture itself; make it again so the rest still reach something.
      if (q.method === "DELETE" && !(await agentStub(E, ws, AGENT).get())) f = await makeFixture(ws);
      before = await fullState(f);
    }),
    { seed, numRuns: runs, endOnFailure: true },
  );
  // Every object touched still answers.
  expect(await agentStub(E, ws, AGENT).get()).not.toBeNull();
  return sent;
}

describe("fuzzing the HTTP API", () => {
  it(`answers ${REQUESTS} random and mutated requests over every route with no 5xx and no change on a 4xx (seed ${SEED})`, async () => {
    const started = Date.now();
    const statuses = new Map<number, number>();
    const per = Math.ceil(REQUESTS / LANES);
    const sent = (await Promise.all(Array.from({ length: LANES }, (_, i) => lane(SEED + i, per, statuses)))).reduce((a, b) => a + b, 0);
    console.log(`fuzz-http: ${sent} requests over ${routes.length} routes in ${Date.now() - started} ms (seed ${SEED}, ${LANES} lanes); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect(sent).toBeGreaterThanOrEqual(REQUESTS * 0.95);
  }, Math.max(120_000, REQUESTS * 25));
});
