/**
 * The authorization matrix: every route of the app (read from app.routes, so a new route without
 * a row fails here) × every kind of token, each cell asserted to its exact status.
 *
 * Writes are aimed at what does not exist, or sent a body that fails validation, so an admitted
 * cell answers a fixed 4xx and changes nothing; reads are aimed at what exists, so an admitted
 * cell answers 200 and another workspace's token a 404.
 */
import { UnsecuredJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { SCOPES, signJwt, signToken, type Claims, type Scope, type WorkspaceClaims } from "../../src/auth/tokens.js";
import { routeAccess } from "../../src/http/access.js";
import { app } from "../../src/http/app.js";
import { newRunId } from "../../src/protocol/ids.js";
import { direct } from "./direct.js";
import { call, freshWorkspace, KEY, tokenFor, workspaceToken } from "./helpers.js";

type Kind = "enroll" | "host" | "job";
interface Row {
  /** The concrete request: ids filled in from the fixture. */
  req: (f: Fixture) => { path: string; body?: unknown };
  /** Scopes a workspace token needs (all of them); null: workspace tokens are refused (403); "public": no token needed. */
  need: Scope[] | null | "public";
  /** The answer to an admitted token of the right workspace. */
  ok: number;
  /** Other token kinds the route admits, and what they get. */
  kinds?: Partial<Record<Kind, number>>;
  /** What a full workspace token of another workspace gets, when not `ok`. */
  other?: number;
}
interface Fixture {
  agent: string;
  run: string;
  missingRun: string;
  schedule: string;
  missingSchedule: string;
}

const AGENT = "matrix";
const READ_ELSEWHERE = { other: 404 };

/** One row per route. A new route needs its row here: the test names any route without one. */
const ROWS: Record<string, Row> = {
  "GET /health": { req: () => ({ path: "/health" }), need: "public", ok: 200 },
  "GET /.well-known/jwks.json": { req: () => ({ path: "/.well-known/jwks.json" }), need: "public", ok: 200 },
  // Public: the document describes routes, not a workspace's data; /docs reads it without a token.
  "GET /v1/openapi.json": { req: () => ({ path: "/v1/openapi.json" }), need: "public", ok: 200 },
  // The pages hold no data: the dashboard's script reads the API with the pasted token.
  "GET /": { req: () => ({ path: "/" }), need: "public", ok: 200 },
  "GET /docs": { req: () => ({ path: "/docs" }), need: "public", ok: 200 },
  "GET /ui/:file": { req: () => ({ path: "/ui/app.js" }), need: "public", ok: 200 },

  "POST /v1/agents": { req: () => ({ path: "/v1/agents", body: {} }), need: ["agents:write"], ok: 400 },
  "GET /v1/agents/:agent": { req: (f) => ({ path: `/v1/agents/${f.agent}` }), need: ["agents:read"], ok: 200, ...READ_ELSEWHERE },
  "PATCH /v1/agents/:agent": { req: (f) => ({ path: `/v1/agents/${f.agent}`, body: {} }), need: ["agents:write"], ok: 400 },
  "DELETE /v1/agents/:agent": { req: () => ({ path: "/v1/agents/nobody" }), need: ["agents:write"], ok: 404 },
  "POST /v1/agents/:agent/host-token": { req: () => ({ path: "/v1/agents/nobody/host-token" }), need: ["agents:write"], ok: 404 },
  "POST /v1/agents/:agent/runs": { req: (f) => ({ path: `/v1/agents/${f.agent}/runs`, body: {} }), need: ["runs:write"], ok: 400, kinds: { job: 400 }, other: 404 },
  // A submit the schema takes and the agent refuses: the batch answers 200 with its problem, and makes nothing.
  "POST /v1/agents/:agent/runs/batch": { req: (f) => ({ path: `/v1/agents/${f.agent}/runs/batch`, body: { runs: [{}] } }), need: ["runs:write"], ok: 200, kinds: { job: 200 }, other: 404 },
  "GET /v1/agents/:agent/hosts": { req: (f) => ({ path: `/v1/agents/${f.agent}/hosts` }), need: ["agents:read"], ok: 200, ...READ_ELSEWHERE },
  "PUT /v1/agents/:agent/secrets/:name": { req: () => ({ path: "/v1/agents/nobody/secrets/TOKEN", body: { value: "abcdefgh" } }), need: ["agents:write"], ok: 404 },
  "GET /v1/agents/:agent/secrets": { req: (f) => ({ path: `/v1/agents/${f.agent}/secrets` }), need: ["agents:read"], ok: 200, ...READ_ELSEWHERE },
  "DELETE /v1/agents/:agent/secrets/:name": { req: (f) => ({ path: `/v1/agents/${f.agent}/secrets/NONE` }), need: ["agents:write"], ok: 404 },
  "DELETE /v1/agents/:agent/hosts/:host": { req: (f) => ({ path: `/v1/agents/${f.agent}/hosts/nohost` }), need: ["agents:write"], ok: 404 },
  // Without an Upgrade header an admitted host gets 426 and nothing is opened.
  "GET /v1/agents/:agent/connect": { req: (f) => ({ path: `/v1/agents/${f.agent}/connect` }), need: null, ok: 403, kinds: { enroll: 426, host: 426 } },

  "GET /v1/agents": { req: () => ({ path: "/v1/agents" }), need: ["agents:read"], ok: 200 },
  "GET /v1/agents/:agent/status": { req: (f) => ({ path: `/v1/agents/${f.agent}/status` }), need: ["agents:read"], ok: 200, ...READ_ELSEWHERE },

  "GET /v1/runs": { req: () => ({ path: "/v1/runs" }), need: ["runs:read"], ok: 200 },
  "GET /v1/runs/:run/events": { req: (f) => ({ path: `/v1/runs/${f.run}/events` }), need: ["runs:read"], ok: 200, kinds: { job: 200 }, ...READ_ELSEWHERE },
  "GET /v1/runs/:run/batch": { req: (f) => ({ path: `/v1/runs/${f.run}/batch` }), need: ["runs:read"], ok: 200, kinds: { job: 200 }, ...READ_ELSEWHERE },
  "DELETE /v1/runs/:run": { req: (f) => ({ path: `/v1/runs/${f.missingRun}` }), need: ["runs:write"], ok: 404 },
  "GET /v1/runs/:run": { req: (f) => ({ path: `/v1/runs/${f.run}` }), need: ["runs:read"], ok: 200, kinds: { job: 200 }, ...READ_ELSEWHERE },
  "GET /v1/runs/:run/children": { req: (f) => ({ path: `/v1/runs/${f.run}/children` }), need: ["runs:read"], ok: 200, kinds: { job: 200 }, ...READ_ELSEWHERE },
  "GET /v1/runs/:run/output": { req: (f) => ({ path: `/v1/runs/${f.run}/output` }), need: ["runs:read"], ok: 200, kinds: { job: 200 }, ...READ_ELSEWHERE },
  // timeout_s=0: a live run is answered as it is, at once.
  "GET /v1/runs/:run/wait": { req: (f) => ({ path: `/v1/runs/${f.run}/wait?timeout_s=0` }), need: ["runs:read"], ok: 200, kinds: { job: 200 }, ...READ_ELSEWHERE },
  // A watch of a live run never ends; a run that does not exist answers at once.
  "GET /v1/runs/:run/watch": { req: (f) => ({ path: `/v1/runs/${f.missingRun}/watch` }), need: ["runs:read"], ok: 404, kinds: { job: 403 } },
  "POST /v1/runs/:run/cancel": { req: (f) => ({ path: `/v1/runs/${f.missingRun}/cancel` }), need: ["runs:write"], ok: 404, kinds: { job: 403 } },
  "POST /v1/runs/:run/input": { req: (f) => ({ path: `/v1/runs/${f.missingRun}/input`, body: { eof: true } }), need: ["runs:write"], ok: 404, kinds: { job: 403 } },
  "GET /v1/runs/:run/input": { req: (f) => ({ path: `/v1/runs/${f.run}/input` }), need: ["runs:read"], ok: 200, kinds: { job: 200 }, ...READ_ELSEWHERE },
  "POST /v1/runs/:run/approve": { req: (f) => ({ path: `/v1/runs/${f.missingRun}/approve` }), need: ["runs:approve"], ok: 404 },
  "POST /v1/runs/:run/deny": { req: (f) => ({ path: `/v1/runs/${f.missingRun}/deny` }), need: ["runs:approve"], ok: 404 },
  "GET /v1/runs/:run/stream": { req: (f) => ({ path: `/v1/runs/${f.run}/stream?attempt=1` }), need: null, ok: 403, kinds: { host: 426 } },

  "POST /v1/agents/:agent/schedules": { req: (f) => ({ path: `/v1/agents/${f.agent}/schedules`, body: {} }), need: ["schedules:write", "runs:write"], ok: 400 },
  "GET /v1/schedules": { req: () => ({ path: "/v1/schedules" }), need: ["schedules:read"], ok: 200 },
  "GET /v1/schedules/:id": { req: (f) => ({ path: `/v1/schedules/${f.schedule}` }), need: ["schedules:read"], ok: 200, ...READ_ELSEWHERE },
  "PATCH /v1/schedules/:id": { req: (f) => ({ path: `/v1/schedules/${f.schedule}`, body: { cron: 5 } }), need: ["schedules:write", "runs:write"], ok: 400 },
  "DELETE /v1/schedules/:id": { req: (f) => ({ path: `/v1/schedules/${f.missingSchedule}` }), need: ["schedules:write"], ok: 404 },
  "POST /v1/schedules/:id/trigger": { req: (f) => ({ path: `/v1/schedules/${f.missingSchedule}/trigger` }), need: ["schedules:write", "runs:write"], ok: 404 },
  "GET /v1/schedules/:id/preview": { req: (f) => ({ path: `/v1/schedules/${f.schedule}/preview` }), need: ["schedules:read"], ok: 200, ...READ_ELSEWHERE },
  "GET /v1/schedules/:id/events": { req: (f) => ({ path: `/v1/schedules/${f.schedule}/events` }), need: ["schedules:read"], ok: 200, ...READ_ELSEWHERE },

  "POST /v1/tokens": { req: () => ({ path: "/v1/tokens", body: {} }), need: ["admin"], ok: 400 },
  "GET /v1/tokens": { req: () => ({ path: "/v1/tokens" }), need: ["admin"], ok: 200 },
  "DELETE /v1/tokens/:id": { req: () => ({ path: "/v1/tokens/tok_00000000000000000000" }), need: ["admin"], ok: 404 },
  // The fixture's run is queued, not running, so even its own job token is refused an identity.
  "POST /v1/id-token": { req: () => ({ path: "/v1/id-token", body: { audience: "https://cloud.example" } }), need: null, ok: 403, kinds: { job: 403 } },
};

/** Every token a request can carry, named; each maps to the status a row expects of it. */
type Column = { name: string; token: string | null; expect: (row: Row) => number };

describe("authorization matrix", () => {
  const ws = freshWorkspace();
  let fixture: Fixture;
  const columns: Column[] = [];

  beforeAll(async () => {
    const admin = await workspaceToken(ws);
    expect((await call(admin, "POST", "/v1/agents", { name: AGENT })).status).toBe(201);
    const run = (await call(admin, "POST", `/v1/agents/${AGENT}/runs`, { argv: ["true"] })).json;
    const schedule = (await call(admin, "POST", `/v1/agents/${AGENT}/schedules`, { cron: "0 3 * * *", run: { argv: ["true"] }, enabled: false })).json;
    expect(schedule.id).toMatch(/^sch_/);
    fixture = {
      agent: AGENT,
      run: run.id,
      missingRun: newRunId(AGENT),
      schedule: schedule.id,
      missingSchedule: schedule.id.replace(/^sch_[0-9a-f]{4}/, "sch_0000"),
    };
    const now = Math.floor(Date.now() / 1000);
    const all: Claims = { kind: "workspace", ws, scopes: ["*"] };
    const minted = (await call(admin, "POST", "/v1/tokens", { name: "to revoke", scopes: ["*"], ttl: 3600 })).json;
    expect((await call(admin, "DELETE", `/v1/tokens/${minted.id}`)).status).toBe(204);

    const invalid = (row: Row) => (row.need === "public" ? row.ok : 401);
    const workspace = (scopes: WorkspaceClaims["scopes"]) => (row: Row) => {
      if (row.need === "public") return row.ok;
      if (row.need === null) return 403;
      return row.need.every((s) => scopes.includes("*") || scopes.includes(s)) ? row.ok : 403;
    };
    const kind = (k: Kind) => (row: Row) => (row.need === "public" ? row.ok : (row.kinds?.[k] ?? 403));
    const add = (name: string, token: string | null, expect: (row: Row) => number) => columns.push({ name, token, expect });

    add("no token", null, invalid);
    add("malformed", "not.a.token", invalid);
    add("alg none", new UnsecuredJWT({ ...all }).setIssuer("tether").setAudience("tether-api").encode(), invalid);
    add("expired", await signToken(KEY, all, 60, { issuedAt: now - 3600 }), invalid);
    add("not yet valid", await signToken(KEY, all, 7200, { notBefore: now + 3600 }), invalid);
    add("revoked", minted.token, invalid);
    add("wrong audience", await signToken(KEY, all, 60, { audience: "https://cloud.example" }), invalid);
    add("identity token", await signJwt(KEY, { sub: "x", workspace: ws, agent: AGENT, run: run.id, attempt: 1 }, 600, { audience: "https://cloud.example", issuer: "https://tether.test" }), invalid);
    add("no scopes", await workspaceToken(ws, []), workspace([]));
    for (const s of SCOPES) add(`scope ${s}`, await workspaceToken(ws, [s]), workspace([s]));
    add("every scope", admin, workspace(["*"]));
    add("other workspace", await workspaceToken(freshWorkspace()), (row) => (row.need === "public" || row.need === null ? workspace(["*"])(row) : (row.other ?? row.ok)));
    add("enroll", await tokenFor({ kind: "enroll", ws, agent: AGENT, gen: 1, inc: "x" }), kind("enroll"));
    add("host credential", await tokenFor({ kind: "host", ws, agent: AGENT, host: "h1", gen: 1, inc: "x" }), kind("host"));
    add("job", await tokenFor({ kind: "job", ws, agent: AGENT, run: run.id, attempt: 1 }), kind("job"));
  });

  it("has a row for every route of the app, and every route declares who may call it", () => {
    const declared = routeAccess(app.routes);
    const missingRow = [...declared.keys()].filter((k) => !(k in ROWS));
    const undeclared = [...declared].filter(([, a]) => a === null).map(([k]) => k);
    const stale = Object.keys(ROWS).filter((k) => !declared.has(k));
    expect(missingRow, `routes without a row in ROWS of test/workers/auth-matrix.test.ts:\n  ${missingRow.join("\n  ")}`).toEqual([]);
    expect(undeclared, `routes without requires(...) in their handler chain (src/http/access.ts):\n  ${undeclared.join("\n  ")}`).toEqual([]);
    expect(stale, `rows for routes the app no longer has`).toEqual([]);
  });

  it("answers every route × token kind with the expected status", async () => {
    const wrong: string[] = [];
    let cells = 0;
    // A route's cells run together: each is its own request, and none changes state.
    for (const [route, row] of Object.entries(ROWS)) {
      const method = route.split(" ")[0]!;
      const { path, body } = row.req(fixture);
      await Promise.all(
        columns.map(async (col) => {
          const want = col.expect(row);
          const got = (await direct(col.token, method, path, body)).status;
          cells++;
          if (got !== want) wrong.push(`${route} with ${col.name}: ${got}, expected ${want}`);
        }),
      );
    }
    expect(wrong, `${wrong.length} of ${cells} cells`).toEqual([]);
    expect(cells).toBe(Object.keys(ROWS).length * columns.length);
  }, 60_000);
});
