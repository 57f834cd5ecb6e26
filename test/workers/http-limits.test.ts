import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app.js";
import { MAX_BODY_BYTES } from "../../src/http/body-limit.js";
import { MAX_URL_CHARS } from "../../src/http/url-limit.js";
import { freshWorkspace, workspaceToken } from "./helpers.js";

const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
const MiB = 1024 * 1024;

async function send(path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  // Straight into the app: through exports.default.fetch each request took longer than the last (see direct.ts).
  const res = await app.fetch(new Request(`https://tether.test${path}`, { ...init, headers }), env, ctx);
  const type = res.headers.get("content-type") ?? "";
  // A watch of a run that has not ended streams on; its answer is all that is asked about here.
  if (type.includes("text/event-stream")) {
    await res.body?.cancel();
    return { status: res.status, type, json: null };
  }
  const text = await res.text();
  // Only JSON is parsed: output is bytes, and the dashboard's and /docs' pages are HTML, script and CSS.
  return { status: res.status, type, json: text && /json/.test(type) ? JSON.parse(text) : null };
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

describe("nothing a client can send is a 5xx", () => {
  /** Asserts a client's answer: never our fault, and every refusal problem details that say what is wrong. */
  const clientAnswer = (r: { status: number; type: string; json: any }, what: string) => {
    expect(r.status, what).toBeLessThan(500);
    if (r.status >= 400) {
      expect(r.type, what).toContain("application/problem+json");
      expect(r.json.detail, what).toBeTruthy();
    }
  };
  const json = { "content-type": "application/json" };

  async function withAgent() {
    const t = await workspaceToken(freshWorkspace());
    await send("/v1/agents", { method: "POST", token: t, body: JSON.stringify({ name: "a" }), headers: json });
    const sched = await send("/v1/agents/a/schedules", { method: "POST", token: t, body: JSON.stringify({ cron: "0 0 1 1 *", run: { argv: ["true"] } }), headers: json });
    expect(sched.status).toBe(201);
    const run = await send("/v1/agents/a/runs", { method: "POST", token: t, body: JSON.stringify({ argv: ["true"] }), headers: json });
    expect(run.status).toBe(201);
    return { t, schedule: sched.json.id as string, run: run.json.id as string };
  }

  const deep = (n: number) => `{"name":"a","config":${"[".repeat(n)}${"]".repeat(n)}}`;
  const BODIES: [string, BodyInit, Record<string, string>][] = [
    ["malformed JSON", "{nope", json],
    ["an empty body", "", json],
    ["null", "null", json],
    ["a number", "1", json],
    ["a string", '"s"', json],
    ["an array", "[1,2]", json],
    ["an empty object", "{}", json],
    ["JSON nested 500,000 deep", deep(500_000), json],
    ["bytes that are not UTF-8", new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), json],
    ["a byte-order mark before the JSON", "\ufeff{}", json],
    ["__proto__ and constructor keys", '{"__proto__":{"admin":true},"constructor":{"prototype":{}}}', json],
    ["a number too large for a double", '{"timeout_ms":1e400,"argv":["x"],"config":{"lease_ttl_ms":1e400}}', json],
    ["ten thousand unknown fields", JSON.stringify(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`f${i}`, i]))), json],
    ["no content type", "{}", {}],
    ["a form", "a=1", { "content-type": "application/x-www-form-urlencoded" }],
    ["text", "{}", { "content-type": "text/plain" }],
    ["a content type with odd parameters", "{}", { "content-type": "application/json; charset=utf-16; x=\"y\"" }],
    ["multipart", "--b\r\n\r\n--b--", { "content-type": "multipart/form-data; boundary=b" }],
  ];

  it("answers every hostile body on every route that takes one with a 4xx problem", async () => {
    const { t, schedule, run } = await withAgent();
    const targets = [...new Set(app.routes.filter((r) => r.method === "POST" || r.method === "PATCH").map((r) => `${r.method} ${r.path}`))];
    expect(targets.length).toBeGreaterThan(5);
    for (const target of targets) {
      const [method, path] = target.split(" ") as [string, string];
      const url = path.replace(":agent", "a").replace(":run", run).replace(":id", schedule);
      for (const [what, body, headers] of BODIES) clientAnswer(await send(url, { method, token: t, body, headers }), `${target} with ${what}`);
    }
  }, 60_000);

  it("bounds the detail of a body with thousands of errors", async () => {
    const { t } = await withAgent();
    const r = await send("/v1/agents", { method: "POST", token: t, body: BODIES.find(([what]) => what === "ten thousand unknown fields")![1], headers: json });
    expect(r.status).toBe(400);
    expect(r.json.errors.length).toBeLessThanOrEqual(20);
    expect(r.json.detail.length).toBeLessThan(4000);
  });

  const QUERIES = [
    "unknown=1",
    "__proto__=1",
    "constructor=x&toString=1&hasOwnProperty=2",
    "stream=stdout&stream=stderr",
    "=1&&&a",
    "limit=1e999&count=NaN&attempt=0x10",
    "limit=-1&count=-5&attempt=-1",
    "from=9999-12-31T23:59:59Z&count=1000",
    "from=0000-01-01T00:00:00Z",
    "agent=%F0%9F%92%A9&cursor=sch_x&output=maybe",
    `cursor=${"c".repeat(4000)}`,
  ];

  it("answers odd and unknown query parameters on every GET route with a 4xx, or ignores them", async () => {
    const { t, schedule, run } = await withAgent();
    const paths = app.routes.filter((r) => r.method === "GET").map((r) => r.path);
    for (const path of paths) {
      const url = path.replace(":agent", "a").replace(":run", run).replace(":id", schedule);
      for (const q of QUERIES) clientAnswer(await send(`${url}?${q}`, { token: t }), `${url}?${q}`);
    }
  }, 60_000);

  it("refuses unknown query parameters where a route reads its query", async () => {
    const { t, schedule, run } = await withAgent();
    for (const url of ["/v1/schedules?unknown=1", `/v1/schedules/${schedule}/preview?unknown=1`, `/v1/runs/${run}/output?unknown=1`]) {
      const r = await send(url, { token: t });
      expect(r.status, url).toBe(400);
      expect(r.json.detail, url).toMatch(/unknown|unrecognized/i);
    }
  });

  it("answers odd headers with a 4xx", async () => {
    const { t, run } = await withAgent();
    for (const authorization of ["Bearer", "Bearer  ", `Bearer ${"a".repeat(8000)}`, "Basic dXNlcjpwYXNz", "Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30.", "bearer\t" + t.slice(0, 20)]) {
      clientAnswer(await send("/v1/agents/a", { headers: { authorization } }), authorization.slice(0, 30));
    }
    for (const id of ["-1", "abc", "1e308", "9".repeat(400), ""]) {
      clientAnswer(await send(`/v1/runs/${run}/watch`, { token: t, headers: { "last-event-id": id } }), `Last-Event-ID ${id}`);
    }
  });

  it("answers schedules with odd cron expressions and time zones with a 4xx", async () => {
    const { t } = await withAgent();
    const crons = ["* * * * * * * *", "99999999999999999999 * * * *", "@reboot", "", "0 0 30 2 *", "*/0 * * * *", "L W # ? *"];
    const zones = ["Mars/Olympus", "+99", "Etc/GMT+99", "../../etc/passwd", "UTC"];
    for (const cron of crons) {
      for (const timezone of zones) {
        const r = await send("/v1/agents/a/schedules", { method: "POST", token: t, body: JSON.stringify({ cron, timezone, run: { argv: ["true"] } }), headers: json });
        clientAnswer(r, `${cron} in ${timezone}`);
        if (r.status === 201) clientAnswer(await send(`/v1/schedules/${r.json.id}/preview?count=1000`, { token: t }), `preview of ${cron} in ${timezone}`);
      }
    }
  }, 60_000);
});
