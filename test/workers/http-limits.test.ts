import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/http/body-limit.js";
import { MAX_URL_CHARS } from "../../src/http/url-limit.js";
import { freshWorkspace, workspaceToken } from "./helpers.js";

const worker = (exports as unknown as { default: Fetcher }).default;
const MiB = 1024 * 1024;

async function send(path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  const res = await worker.fetch(`https://tether.test${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type") ?? "", json: text ? JSON.parse(text) : null };
}

/** A body made only as it is read, so the test can tell how much of it the Worker took. */
function lazyBody(total: number, chunk = 64 * 1024) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (state.pulled >= total) return ctl.close();
      const n = Math.min(chunk, total - state.pulled);
      state.pulled += n;
      ctl.enqueue(new Uint8Array(n).fill(0x20));
    },
  });
  return { stream, state };
}

/** A valid agent body padded with JSON whitespace to exactly `bytes` bytes. */
const agentBodyOf = (bytes: number, name = "padded") => {
  const json = JSON.stringify({ name });
  return json + " ".repeat(bytes - json.length);
};

const as413 = (r: { status: number; type: string; json: any }) => {
  expect(r.status).toBe(413);
  expect(r.type).toContain("application/problem+json");
  expect(r.json.detail).toContain(String(MAX_BODY_BYTES));
};

describe("request bodies are bounded in bytes as they arrive", () => {
  it("refuses a declared Content-Length over the limit at once, without reading the body", async () => {
    const t = await workspaceToken(freshWorkspace());
    const { stream, state } = lazyBody(64 * MiB);
    const r = await send("/v1/agents", {
      method: "POST",
      token: t,
      body: stream,
      headers: { "content-type": "application/json", "content-length": String(64 * MiB) },
    });
    as413(r);
    expect(state.pulled).toBeLessThan(MAX_BODY_BYTES);
  });

  it("refuses the declared length before the token is even looked at", async () => {
    as413(await send("/v1/agents", { method: "POST", body: "x".repeat(MAX_BODY_BYTES + 1), headers: { "content-type": "application/json" } }));
  });

  it("cuts off a chunked body of 8 MiB with 413 soon after the limit, not at its end", async () => {
    const t = await workspaceToken(freshWorkspace());
    const { stream, state } = lazyBody(8 * MiB);
    const r = await send("/v1/agents", { method: "POST", token: t, body: stream, headers: { "content-type": "application/json" } });
    as413(r);
    expect(state.pulled).toBeLessThan(MAX_BODY_BYTES + 2 * MiB);
  });

  it("passes a body of exactly the limit on to validation, sent whole or chunked", async () => {
    const t = await workspaceToken(freshWorkspace());
    const whole = await send("/v1/agents", { method: "POST", token: t, body: agentBodyOf(MAX_BODY_BYTES, "whole"), headers: { "content-type": "application/json" } });
    expect(whole.status).toBe(201);
    expect(whole.json.agent.name).toBe("whole");
    const bytes = new TextEncoder().encode(agentBodyOf(MAX_BODY_BYTES, "chunked"));
    const chunked = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let at = 0; at < bytes.length; at += 100_000) ctl.enqueue(bytes.slice(at, at + 100_000));
        ctl.close();
      },
    });
    const r = await send("/v1/agents", { method: "POST", token: t, body: chunked, headers: { "content-type": "application/json" } });
    expect(r.status).toBe(201);
    expect(r.json.agent.name).toBe("chunked");
  });

  it("refuses one byte over the limit, sent whole or chunked", async () => {
    const t = await workspaceToken(freshWorkspace());
    as413(await send("/v1/agents", { method: "POST", token: t, body: agentBodyOf(MAX_BODY_BYTES + 1), headers: { "content-type": "application/json" } }));
    const { stream } = lazyBody(MAX_BODY_BYTES + 1);
    as413(await send("/v1/agents", { method: "POST", token: t, body: stream, headers: { "content-type": "application/json" } }));
  });

  it("counts bytes, not characters: two-byte characters under the limit in length but over it in bytes", async () => {
    const t = await workspaceToken(freshWorkspace());
    const body = JSON.stringify({ name: "é".repeat(MAX_BODY_BYTES / 2) });
    expect(body.length).toBeLessThan(MAX_BODY_BYTES * 0.6);
    as413(await send("/v1/agents", { method: "POST", token: t, body, headers: { "content-type": "application/json" } }));
  });

  it("leaves the WebSocket routes, which have no body, to answer as before", async () => {
    const t = await workspaceToken(freshWorkspace());
    const r = await send("/v1/agents/none/connect", { token: t, headers: { upgrade: "websocket" } });
    expect(r.status).toBe(403);
  });
});

describe("URLs are bounded and must decode", () => {
  it(`refuses a URL over ${MAX_URL_CHARS} characters with 414`, async () => {
    const t = await workspaceToken(freshWorkspace());
    for (const path of [`/v1/schedules?cursor=${"c".repeat(MAX_URL_CHARS)}`, `/v1/agents/${"a".repeat(MAX_URL_CHARS)}`, `/health?${"q".repeat(100_000)}`]) {
      const r = await send(path, { token: t });
      expect(r.status).toBe(414);
      expect(r.type).toContain("application/problem+json");
      expect(r.json.detail).toContain(String(MAX_URL_CHARS));
    }
  });

  it("answers a URL just under the bound as usual", async () => {
    const t = await workspaceToken(freshWorkspace());
    const base = "https://tether.test/v1/agents/a?pad=";
    const r = await send(`/v1/agents/a?pad=${"p".repeat(MAX_URL_CHARS - base.length)}`, { token: t });
    expect(r.status).toBe(404);
  });

  for (const path of ["/v1/agents/%ZZ", "/v1/runs/%", "/v1/agents/%C3", "/health%", "/v1/schedules?agent=%E0%A4%A", "/v1/runs/run_x/output?stream=%"]) {
    it(`refuses invalid percent-encoding with 400: ${path}`, async () => {
      const t = await workspaceToken(freshWorkspace());
      const r = await send(path, { token: t });
      expect(r.status).toBe(400);
      expect(r.type).toContain("application/problem+json");
      expect(r.json.detail).toMatch(/%/);
    });
  }

  it("accepts valid percent-encoding, and a literal % written as %25", async () => {
    const t = await workspaceToken(freshWorkspace());
    await send("/v1/agents", { method: "POST", token: t, body: JSON.stringify({ name: "enc" }), headers: { "content-type": "application/json" } });
    expect((await send("/v1/agents/%65nc", { token: t })).status).toBe(200);
    expect((await send("/v1/agents/100%25", { token: t })).status).toBe(400);
  });
});
