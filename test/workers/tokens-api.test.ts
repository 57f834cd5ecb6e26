import { exports } from "cloudflare:workers";
import { createLocalJWKSet, createRemoteJWKSet, customFetch, decodeJwt, jwtVerify } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { REVOCATION_CACHE_MS } from "../../src/auth/revocation.js";
import { workspaceStub } from "../../src/env.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";
import { enroll } from "./hosts.js";
import { env } from "cloudflare:workers";

const worker = (exports as unknown as { default: Fetcher }).default;

describe("workspace tokens", () => {
  afterEach(() => vi.useRealTimers());

  it("are minted, listed and revoked by an admin token; the minted one works until revoked", async () => {
    const ws = freshWorkspace();
    const admin = await workspaceToken(ws, ["admin"]);
    const made = await call(admin, "POST", "/v1/tokens", { name: "ci", scopes: ["agents:read"], ttl: 3600 });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ id: expect.stringMatching(/^tok_/), name: "ci", scopes: ["agents:read"], service: false, revoked_at: null });
    expect(Date.parse(made.json.expires_at) - Date.now()).toBeGreaterThan(3500_000);
    expect(decodeJwt(made.json.token)).toMatchObject({ jti: made.json.id, ws, scopes: ["agents:read"] });

    const listed = await call(admin, "GET", "/v1/tokens");
    expect(listed.json.tokens).toEqual([{ ...made.json, token: undefined }].map(({ token: _t, ...r }) => r));
    expect(JSON.stringify(listed.json)).not.toContain(made.json.token);

    expect((await call(made.json.token, "GET", "/v1/agents/none")).status).toBe(404);
    expect((await call(made.json.token, "GET", "/v1/tokens")).status).toBe(403);
    expect((await call(admin, "DELETE", `/v1/tokens/${made.json.id}`)).status).toBe(204);
    expect((await call(made.json.token, "GET", "/v1/agents/none")).status).toBe(401);
    expect((await call(admin, "GET", "/v1/tokens")).json.tokens).toEqual([]);
    expect((await call(admin, "DELETE", "/v1/tokens/tok_00000000000000000000")).status).toBe(404);
  });

  it("expire: 30 days unless a ttl is given; a service token has none and says so", async () => {
    const admin = await workspaceToken(freshWorkspace(), ["admin"]);
    const plain = (await call(admin, "POST", "/v1/tokens", { name: "p", scopes: ["runs:read"] })).json;
    expect(Math.round((Date.parse(plain.expires_at) - Date.now()) / 86_400_000)).toBe(30);
    const svc = (await call(admin, "POST", "/v1/tokens", { name: "svc", scopes: ["runs:read"], service: true })).json;
    expect(svc).toMatchObject({ service: true, expires_at: null });
    expect(decodeJwt(svc.token)).toMatchObject({ svc: true });
    expect(decodeJwt(svc.token).exp).toBeUndefined();
    expect((await call(admin, "POST", "/v1/tokens", { name: "x", scopes: ["runs:read"], service: true, ttl: 60 })).status).toBe(400);
    expect((await call(admin, "POST", "/v1/tokens", { name: "x", scopes: ["nope"] })).status).toBe(400);
    expect((await call(admin, "POST", "/v1/tokens", { name: "x", scopes: [] })).status).toBe(400);
  });

  it(`a revocation made elsewhere takes effect here within ${REVOCATION_CACHE_MS} ms`, async () => {
    const ws = freshWorkspace();
    const admin = await workspaceToken(ws, ["admin"]);
    const made = (await call(admin, "POST", "/v1/tokens", { name: "t", scopes: ["agents:read"], ttl: 600 })).json;
    expect((await call(made.token, "GET", "/v1/agents/none")).status).toBe(404);
    // Revoked straight in the workspace's object, as another isolate would: this one has a cached list.
    await workspaceStub(env as never, ws).revokeToken(made.id);
    vi.useFakeTimers({ now: Date.now() + REVOCATION_CACHE_MS, toFake: ["Date"] });
    expect((await call(made.token, "GET", "/v1/agents/none")).status).toBe(401);
  });
});

describe("job identity tokens", () => {
  it("a running job gets one for its audience, and a third party verifies it with the JWKS", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    const { json: created } = await call(t, "POST", "/v1/agents", { name: "idt" });
    const host = await enroll("idt", created.host_token, "h1");
    host.sock.send({ type: "ready", slots: 1 });
    const run = (await call(t, "POST", "/v1/agents/idt/runs", { argv: ["true"], labels: { team: "infra" } })).json;
    const assign = await host.sock.next();
    expect(assign).toMatchObject({ type: "assign", run_id: run.id, attempt: 1 });

    const res = await call(assign.job_token, "POST", "/v1/id-token", { audience: "https://cloud.example" });
    expect(res.status).toBe(201);
    const { token, issuer } = res.json;
    expect(issuer).toBe("https://tether.test");

    // As a third party: fetch the JWKS over HTTP from the issuer and verify.
    const remote = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`), { [customFetch]: (url: string, init: RequestInit) => worker.fetch(url, init) });
    const { payload, protectedHeader } = await jwtVerify(token, remote, { issuer, audience: "https://cloud.example", algorithms: ["EdDSA"] });
    expect(protectedHeader.kid).toBe("test-new");
    expect(payload).toMatchObject({ sub: `workspace:${ws}:agent:idt:run:${run.id}`, workspace: ws, agent: "idt", run: run.id, attempt: 1, labels: { team: "infra" }, schedule: null });
    expect(payload.exp! - payload.iat!).toBe(600);
    const jwks = await (await worker.fetch("https://tether.test/.well-known/jwks.json")).json<{ keys: Record<string, unknown>[] }>();
    expect(jwks.keys.map((k) => k.kid)).toEqual(["test-new", "test-old"]);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    await expect(jwtVerify(token, createLocalJWKSet(jwks as never), { issuer, audience: "someone-else" })).rejects.toThrow();

    // Tether itself refuses it: it is for another audience.
    expect((await call(token, "GET", `/v1/runs/${run.id}`)).status).toBe(401);
    // Neither a workspace token nor an identity for Tether's own API.
    expect((await call(t, "POST", "/v1/id-token", { audience: "x" })).status).toBe(403);
    expect((await call(assign.job_token, "POST", "/v1/id-token", { audience: "tether-api" })).status).toBe(400);
    host.sock.sock.close();
  });
});
