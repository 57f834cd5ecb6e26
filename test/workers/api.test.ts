import { describe, expect, it, vi } from "vitest";
import { errorResponse } from "../../src/http/app.js";
import { call, freshWorkspace, tokenFor, workspaceToken } from "./helpers.js";

describe("authentication", () => {
  it("refuses a request with no token with 401 problem+json", async () => {
    const r = await call(null, "GET", "/v1/agents/a");
    expect(r.status).toBe(401);
    expect(r.type).toContain("application/problem+json");
    expect(r.json.detail).toMatch(/Bearer/);
  });

  it("refuses a forged token", async () => {
    const ws = freshWorkspace();
    const good = await workspaceToken(ws);
    const forged = good.slice(0, -4) + (good.endsWith("AAAA") ? "BBBB" : "AAAA");
    expect((await call(forged, "GET", "/v1/agents/a")).status).toBe(401);
  });

  it("enforces scopes", async () => {
    const ws = freshWorkspace();
    const reader = await workspaceToken(ws, ["agents:read"]);
    const r = await call(reader, "POST", "/v1/agents", { name: "x" });
    expect(r.status).toBe(403);
    expect(r.json.detail).toContain("agents:write");
  });

  it("keeps workspaces apart: another workspace's run is 404", async () => {
    const a = await workspaceToken(freshWorkspace());
    const b = await workspaceToken(freshWorkspace());
    await call(a, "POST", "/v1/agents", { name: "shared-name" });
    const run = await call(a, "POST", "/v1/agents/shared-name/runs", { argv: ["true"] });
    expect(run.status).toBe(201);
    expect((await call(b, "GET", `/v1/runs/${run.json.id}`)).status).toBe(404);
    expect((await call(b, "POST", `/v1/runs/${run.json.id}/cancel`)).status).toBe(404);
    expect((await call(b, "GET", "/v1/agents/shared-name")).status).toBe(404);
    expect((await call(a, "GET", `/v1/runs/${run.json.id}`)).json.status).toBe("queued");
  });

  it("a host token cannot submit runs, and only connects as its own agent", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    const created = await call(t, "POST", "/v1/agents", { name: "h" });
    const host = created.json.host_token as string;
    expect((await call(host, "POST", "/v1/agents/h/runs", { argv: ["true"] })).status).toBe(403);
    const other = await tokenFor({ kind: "enroll", ws, agent: "other", gen: 1, inc: "x" });
    expect((await call(other, "GET", "/v1/agents/h/connect", undefined, { upgrade: "websocket" })).status).toBe(403);
  });
});

describe("agents", () => {
  it("creates, reads, refuses a duplicate, deletes", async () => {
    const t = await workspaceToken(freshWorkspace());
    const c = await call(t, "POST", "/v1/agents", { name: "builder" });
    expect(c.status).toBe(201);
    expect(c.json.agent).toMatchObject({ name: "builder", hosts: [], queued: 0, running: 0 });
    expect(c.json.host_token).toMatch(/^ey/);
    expect((await call(t, "POST", "/v1/agents", { name: "builder" })).status).toBe(409);
    expect((await call(t, "GET", "/v1/agents/builder")).json.name).toBe("builder");
    expect((await call(t, "DELETE", "/v1/agents/builder")).status).toBe(204);
    expect((await call(t, "GET", "/v1/agents/builder")).status).toBe(404);
    expect((await call(t, "DELETE", "/v1/agents/builder")).status).toBe(404);
  });

  it("rotating the host token makes the old one useless", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    const old = (await call(t, "POST", "/v1/agents", { name: "rot" })).json.host_token;
    const r = await call(t, "POST", "/v1/agents/rot/host-token", {});
    expect(r.status).toBe(201);
    expect(r.json.host_token).not.toBe(old);
    const refused = await call(old, "GET", "/v1/agents/rot/connect", undefined, { upgrade: "websocket" });
    expect(refused.status).toBe(401);
    expect(refused.json.detail).toMatch(/rotated/);
  });

  it("deleting an agent cancels its queued runs", async () => {
    const t = await workspaceToken(freshWorkspace());
    await call(t, "POST", "/v1/agents", { name: "gone" });
    const run = (await call(t, "POST", "/v1/agents/gone/runs", { argv: ["true"] })).json;
    await call(t, "DELETE", "/v1/agents/gone");
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("cancelled");
  });
});

describe("input validation", () => {
  const bad: [string, unknown, RegExp][] = [
    ["an unknown field", { name: "ok", color: "red" }, /color|unrecognized/i],
    ["a name that is not a slug", { name: "Not A Slug" }, /slug/],
    ["no name", {}, /name/],
    ["a body that is not an object", [1, 2], /object|expected/i],
  ];
  for (const [what, body, detail] of bad) {
    it(`refuses an agent with ${what}`, async () => {
      const t = await workspaceToken(freshWorkspace());
      const r = await call(t, "POST", "/v1/agents", body);
      expect(r.status).toBe(400);
      expect(r.type).toContain("application/problem+json");
      expect(r.json.detail).toMatch(detail);
    });
  }

  it("refuses malformed JSON, and a body that is not JSON", async () => {
    const t = await workspaceToken(freshWorkspace());
    expect((await call(t, "POST", "/v1/agents", "{nope")).status).toBe(400);
    expect((await call(t, "POST", "/v1/agents", "name=x", { "content-type": "application/x-www-form-urlencoded" })).status).toBe(415);
  });

  const badRuns: [string, unknown][] = [
    ["an empty argv", { argv: [] }],
    ["argv that is not strings", { argv: [1] }],
    ["an unknown field", { argv: ["true"], agent: "other" }],
    ["a negative timeout", { argv: ["true"], timeout_ms: -1 }],
    ["a timeout over 7 days", { argv: ["true"], timeout_ms: 8 * 24 * 3600 * 1000 }],
    ["a bad env name", { argv: ["true"], env: { "A-B": "x" } }],
    ["stdin over 1 MB", { argv: ["cat"], stdin: "x".repeat(1024 * 1024 + 1) }],
  ];
  for (const [what, body] of badRuns) {
    it(`refuses a run with ${what} and creates nothing`, async () => {
      const t = await workspaceToken(freshWorkspace());
      await call(t, "POST", "/v1/agents", { name: "v" });
      const r = await call(t, "POST", "/v1/agents/v/runs", body);
      expect(r.status).toBe(400);
      expect(r.json.errors.length).toBeGreaterThan(0);
      expect((await call(t, "GET", "/v1/agents/v")).json.queued).toBe(0);
    });
  }

  it("refuses a body over the size limit with 413", async () => {
    const t = await workspaceToken(freshWorkspace());
    const r = await call(t, "POST", "/v1/agents", JSON.stringify({ name: "x".repeat(3 * 1024 * 1024) }));
    expect(r.status).toBe(413);
  });

  it("says which run id is malformed, and 404s an unknown one", async () => {
    const t = await workspaceToken(freshWorkspace());
    expect((await call(t, "GET", "/v1/runs/nope")).status).toBe(400);
    expect((await call(t, "GET", `/v1/runs/run_${"0".repeat(28)}`)).status).toBe(400);
    expect((await call(t, "GET", `/v1/runs/run_${"0".repeat(28)}_nobody`)).status).toBe(404);
    expect((await call(t, "GET", `/v1/runs/run_${"0".repeat(28)}_nobody/output?stream=both`)).status).toBe(400);
  });

  it("404s a run submitted to an agent that does not exist", async () => {
    const t = await workspaceToken(freshWorkspace());
    const r = await call(t, "POST", "/v1/agents/missing/runs", { argv: ["true"] });
    expect(r.status).toBe(404);
    expect(r.json.detail).toContain("missing");
  });
});

describe("runs without a host", () => {
  it("queue, and cancelling a queued run ends it at once, idempotently", async () => {
    const t = await workspaceToken(freshWorkspace());
    await call(t, "POST", "/v1/agents", { name: "q" });
    const run = (await call(t, "POST", "/v1/agents/q/runs", { argv: ["sleep", "1"], labels: { team: "x" } })).json;
    expect(run).toMatchObject({ status: "queued", agent: "q", attempt: 0, labels: { team: "x" } });
    const c1 = await call(t, "POST", `/v1/runs/${run.id}/cancel`);
    expect(c1.status).toBe(202);
    expect(c1.json.status).toBe("cancelled");
    const c2 = await call(t, "POST", `/v1/runs/${run.id}/cancel`);
    expect(c2.status).toBe(202);
    expect(c2.json.status).toBe("cancelled");
    expect((await call(t, "GET", "/v1/agents/q")).json.queued).toBe(0);
  });

  it("health answers without a token", async () => {
    expect((await call(null, "GET", "/health")).json).toEqual({ ok: true });
  });
});

describe("idempotency", () => {
  it("a key seen before returns the first run with 200 and makes no second", async () => {
    const t = await workspaceToken(freshWorkspace());
    await call(t, "POST", "/v1/agents", { name: "idem" });
    const first = await call(t, "POST", "/v1/agents/idem/runs", { argv: ["true"], idempotency_key: "deploy-42" });
    const again = await call(t, "POST", "/v1/agents/idem/runs", { argv: ["true"], idempotency_key: "deploy-42" });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(first.json.id);
    expect((await call(t, "GET", "/v1/agents/idem")).json.queued).toBe(1);
    const other = await call(t, "POST", "/v1/agents/idem/runs", { argv: ["true"], idempotency_key: "deploy-43" });
    expect(other.status).toBe(201);
    expect(other.json.id).not.toBe(first.json.id);
  });
});

describe("overload", () => {
  it("is a retryable 503, not a 500", async () => {
    for (const err of [
      Object.assign(new Error("Durable Object is overloaded. Too many requests queued."), { overloaded: true }),
      new Error("out of memory: SQLITE_NOMEM"),
    ]) {
      const res = errorResponse(err);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    // Full storage stays full: 507, not a retryable 503.
    const full = errorResponse(new Error("database or disk is full: SQLITE_FULL"));
    expect(full.status).toBe(507);
    expect(full.headers.get("retry-after")).toBeNull();
    // Our own fault is a 500, and it is logged for us to see (not printed into a green run).
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(errorResponse(new TypeError("a bug")).status).toBe(500);
    expect(logged).toHaveBeenCalled();
    logged.mockRestore();
  });
});

describe("an agent deleted and made again", () => {
  it("arms its alarm afresh for its new timers", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    await call(t, "POST", "/v1/agents", { name: "again" });
    // The first life arms an alarm (the submit's own sweep, 30 s out); deleting wipes it.
    await call(t, "POST", "/v1/agents/again/runs", { argv: ["true"] });
    await call(t, "DELETE", "/v1/agents/again");
    await call(t, "POST", "/v1/agents", { name: "again" });
    // The second life's earliest timer is later than the first life's alarm was.
    await call(t, "POST", "/v1/agents/again/runs", { argv: ["true"], queue_timeout_ms: 3_600_000 });
    const { env } = await import("cloudflare:workers");
    const { runInDurableObject } = await import("cloudflare:test");
    const E = env as unknown as import("../../src/env.js").Env;
    const stub = E.AGENT.get(E.AGENT.idFromName(`${ws}:again`));
    const alarm = await runInDurableObject(stub, (_o, state) => state.storage.getAlarm());
    // Armed: at the new timer, or earlier (a stale alarm finds nothing due and arms the next).
    expect(alarm).not.toBeNull();
  });
});
