import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app, errorResponse } from "../../src/http/app.js";
import { catchAll } from "../../src/http/errors.js";
import { SECURITY_HEADERS, securityHeaders } from "../../src/http/security-headers.js";
import { freshWorkspace, workspaceToken } from "./helpers.js";

const worker = (exports as unknown as { default: Fetcher }).default;

async function send(method: string, path: string, opts: { token?: string; headers?: Record<string, string>; body?: string } = {}) {
  const headers = new Headers(opts.headers);
  if (opts.token) headers.set("authorization", `Bearer ${opts.token}`);
  const res = await worker.fetch(`https://tether.test${path}`, { method, headers, body: opts.body });
  return answer(res);
}

async function answer(res: Response) {
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, type: res.headers.get("content-type") ?? "", json, text };
}

/** Every route the app has, by path, read the way the server reads it: a new route is tested without a word here. */
const routes = new Map<string, Set<string>>();
for (const r of app.routes) if (r.method !== "ALL") routes.set(r.path, (routes.get(r.path) ?? new Set()).add(r.method));

const SAMPLE: Record<string, string> = { agent: "a", run: `run_${"0".repeat(28)}`, id: `sch_${"0".repeat(20)}_a` };
const concrete = (path: string) => path.replace(/:(\w+)/g, (_, name: string) => SAMPLE[name] ?? "x");
const allowOf = (methods: Set<string>) => {
  const all = new Set(methods).add("OPTIONS");
  if (all.has("GET")) all.add("HEAD");
  return [...all].sort();
};
const parseAllow = (h: string | null) => (h ?? "").split(",").map((m) => m.trim()).filter(Boolean).sort();

/** A request with a method workerd will not build (CONNECT, TRACK, …), for the app itself. */
function withMethod(method: string, url: string): Request {
  const req = new Request(url);
  return new Proxy(req, {
    get(target, prop) {
      if (prop === "method") return method;
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

describe("every method on every route is answered", () => {
  it("knows the routes it tests", () => {
    expect(routes.size).toBeGreaterThan(10);
    expect(routes.get("/v1/agents/:agent")).toEqual(new Set(["GET", "PATCH", "DELETE"]));
  });

  for (const [path, methods] of routes) {
    const unsupported = ["GET", "POST", "PUT", "PATCH", "DELETE", "PROPFIND", "TRACE"].filter((m) => !methods.has(m));
    it(`${path}: ${unsupported.join(", ")} are 405 with Allow, token or not; OPTIONS is 204 with Allow`, async () => {
      const t = await workspaceToken(freshWorkspace());
      for (const method of unsupported) {
        for (const token of [t, undefined]) {
          const r = await send(method, concrete(path), { token });
          expect(r.status, `${method} ${path}`).toBe(405);
          expect(r.type).toContain("application/problem+json");
          expect(parseAllow(r.headers.get("allow"))).toEqual(allowOf(methods));
          expect(r.json.detail).toContain(method);
        }
      }
      const o = await send("OPTIONS", concrete(path));
      expect(o.status).toBe(204);
      expect(parseAllow(o.headers.get("allow"))).toEqual(allowOf(methods));
    });
  }

  it("answers methods the runtime will not even build (CONNECT, TRACK, made up) with 405, never 500", async () => {
    const ctx = createExecutionContext();
    for (const method of ["CONNECT", "TRACK", "FOO", "M-SEARCH"]) {
      const r = await answer(await app.fetch(withMethod(method, "https://tether.test/health"), env, ctx));
      expect(r.status, method).toBe(405);
      expect(parseAllow(r.headers.get("allow"))).toEqual(["GET", "HEAD", "OPTIONS"]);
      const unknown = await answer(await app.fetch(withMethod(method, "https://tether.test/nowhere"), env, ctx));
      expect(unknown.status, method).toBe(404);
      expect(unknown.type).toContain("application/problem+json");
    }
  });

  it("answers HEAD on a GET route as GET, without the body", async () => {
    const r = await send("HEAD", "/health");
    expect(r.status).toBe(200);
    expect(r.text).toBe("");
    const t = await workspaceToken(freshWorkspace());
    expect((await send("HEAD", "/v1/agents/missing", { token: t })).status).toBe(404);
    expect((await send("HEAD", "/v1/agents/missing")).status).toBe(401);
    await send("POST", "/v1/agents", { token: t, body: JSON.stringify({ name: "head" }), headers: { "content-type": "application/json" } });
    const run = await send("POST", "/v1/agents/head/runs", { token: t, body: JSON.stringify({ argv: ["true"] }), headers: { "content-type": "application/json" } });
    const watch = await send("HEAD", `/v1/runs/${run.json.id}/watch`, { token: t });
    expect(watch.status).toBe(200);
    expect(watch.type).toContain("text/event-stream");
    expect(watch.text).toBe("");
  });

  it("still 404s an unknown path (401 without a token under /v1), whatever the method", async () => {
    const t = await workspaceToken(freshWorkspace());
    for (const method of ["GET", "POST", "OPTIONS", "PROPFIND"]) {
      expect((await send(method, "/nowhere")).status).toBe(404);
      expect((await send(method, "/v1/nowhere", { token: t })).status).toBe(404);
      expect((await send(method, "/v1/nowhere")).status).toBe(401);
    }
  });
});

describe("security headers", () => {
  const hasAll = (h: Headers) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(h.get(name), name).toBe(value);
  };

  it("are on every kind of answer: success, 401, 404, 405, 413, 414, 204", async () => {
    const t = await workspaceToken(freshWorkspace());
    hasAll((await send("GET", "/health")).headers);
    hasAll((await send("GET", "/v1/agents/a")).headers);
    hasAll((await send("GET", "/v1/agents/a", { token: t })).headers);
    hasAll((await send("PUT", "/health")).headers);
    hasAll((await send("OPTIONS", "/health")).headers);
    hasAll((await send("POST", "/v1/agents", { body: "x".repeat(3 * 1024 * 1024), headers: { "content-type": "application/json" } })).headers);
    hasAll((await send("GET", `/health?${"q".repeat(10_000)}`)).headers);
  });

  it("are not put on a WebSocket's 101, and the socket still opens", async () => {
    const mini = new Hono();
    mini.use(securityHeaders());
    mini.get("/ws", () => {
      const [client, server] = Object.values(new WebSocketPair());
      server!.accept();
      return new Response(null, { status: 101, webSocket: client });
    });
    const res = await mini.request("/ws");
    expect(res.status).toBe(101);
    expect(res.webSocket).toBeTruthy();
    expect(res.headers.get("content-security-policy")).toBeNull();
    res.webSocket!.accept();
    res.webSocket!.close();
  });

  it("leave the real host socket working", async () => {
    const t = await workspaceToken(freshWorkspace());
    const created = await send("POST", "/v1/agents", { token: t, body: JSON.stringify({ name: "sock" }), headers: { "content-type": "application/json" } });
    const res = await worker.fetch("https://tether.test/v1/agents/sock/connect", { headers: { upgrade: "websocket", authorization: `Bearer ${created.json.host_token}` } });
    expect(res.status).toBe(101);
    expect(res.headers.get("content-security-policy")).toBeNull();
    res.webSocket!.accept();
    res.webSocket!.close();
  });

  it("are set even where the answer's own headers are immutable", async () => {
    const mini = new Hono();
    mini.use(securityHeaders());
    mini.get("/fetched", async () => {
      const res = Response.redirect("https://tether.test/elsewhere", 302);
      expect(() => res.headers.set("x", "y")).toThrow();
      return res;
    });
    const res = await mini.request("/fetched");
    expect(res.status).toBe(302);
    hasAll(res.headers);
  });
});

describe("CORS only for the origins configured", () => {
  const ORIGINS = "https://ui.example, https://Other.Example/";
  const configured = (req: Request) => app.fetch(req, { ...env, TETHER_CORS_ORIGINS: ORIGINS }, createExecutionContext());
  const preflight = (origin: string, path = "/v1/agents/a") =>
    new Request(`https://tether.test${path}`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "PATCH", "access-control-request-headers": "authorization, content-type" },
    });
  const corsHeaders = (h: Headers) => [...h.keys()].filter((k) => k.startsWith("access-control-"));

  it("unset or empty (as wrangler.toml ships it): no CORS header on any answer, preflight or not", async () => {
    for (const r of [
      await send("GET", "/health", { headers: { origin: "https://ui.example" } }),
      await send("GET", "/v1/agents/a", { headers: { origin: "https://ui.example" } }),
      await send("OPTIONS", "/v1/agents/a", { headers: { origin: "https://ui.example", "access-control-request-method": "PATCH" } }),
    ]) {
      expect(corsHeaders(r.headers)).toEqual([]);
    }
  });

  it("an allowed origin gets a preflight answer with this path's methods", async () => {
    for (const origin of ["https://ui.example", "https://other.example"]) {
      const r = await configured(preflight(origin));
      expect(r.status).toBe(204);
      expect(r.headers.get("access-control-allow-origin")).toBe(origin);
      expect(parseAllow(r.headers.get("access-control-allow-methods"))).toEqual(["DELETE", "GET", "HEAD", "OPTIONS", "PATCH"]);
      expect(r.headers.get("access-control-allow-headers")).toMatch(/authorization/);
      expect(r.headers.get("access-control-allow-credentials")).toBeNull();
      expect(r.headers.get("vary")).toMatch(/origin/i);
    }
  });

  it("an allowed origin can read answers, errors included", async () => {
    const ok = await configured(new Request("https://tether.test/health", { headers: { origin: "https://ui.example" } }));
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://ui.example");
    const refused = await configured(new Request("https://tether.test/v1/agents/a", { headers: { origin: "https://ui.example" } }));
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe("https://ui.example");
    expect(refused.headers.get("access-control-expose-headers")).toMatch(/retry-after/);
  });

  it("any other origin gets no CORS header, preflight or not", async () => {
    for (const origin of ["https://evil.example", "https://ui.example.evil.example", "null", "http://ui.example"]) {
      const pre = await configured(preflight(origin));
      expect(corsHeaders(pre.headers)).toEqual([]);
      const get = await configured(new Request("https://tether.test/health", { headers: { origin } }));
      expect(get.status).toBe(200);
      expect(corsHeaders(get.headers)).toEqual([]);
    }
  });
});

describe("errorResponse", () => {
  // Our faults are logged for whoever runs the control plane; the tests read the log instead of printing it.
  const logged = () => vi.spyOn(console, "error").mockImplementation(() => undefined);
  afterEach(() => vi.restoreAllMocks());

  it("makes a thrown non-Error a 500 problem, not an escape from the app", async () => {
    const log = logged();
    const thrownValues = ["a string", undefined, null, 42, { message: "an object" }];
    for (const thrown of thrownValues) {
      const res = errorResponse(thrown);
      expect(res.status).toBe(500);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    expect(log.mock.calls).toEqual(thrownValues.map((v) => ["unhandled", v]));
    const mini = new Hono();
    mini.use(securityHeaders());
    mini.use(catchAll());
    mini.get("/", () => {
      throw "boom";
    });
    mini.onError(errorResponse);
    const res = await mini.request("/");
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(log).toHaveBeenLastCalledWith("unhandled", "boom");
  });

  it("answers a Hono HTTPException with its own status as a problem", async () => {
    const log = logged();
    const tooBig = errorResponse(new HTTPException(413, { res: new Response("Payload Too Large", { status: 413 }) }));
    expect(tooBig.status).toBe(413);
    expect(tooBig.headers.get("content-type")).toContain("application/problem+json");
    const unauth = await answer(errorResponse(new HTTPException(401, { message: "the token has expired" })));
    expect(unauth.status).toBe(401);
    expect(unauth.json.detail).toBe("the token has expired");
    const busy = errorResponse(new HTTPException(503, { res: new Response(null, { status: 503, headers: { "retry-after": "5" } }) }));
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("5");
    const ours = await answer(errorResponse(new HTTPException(500, { message: "secret internals" })));
    expect(ours.status).toBe(500);
    expect(ours.json.detail).not.toContain("secret");
    // Only our own fault is logged, never a client's 4xx or load's 503.
    expect(log).toHaveBeenCalledTimes(1);
    expect(String(log.mock.calls[0]![1])).toContain("secret internals");
  });
});
