/**
 * Pacing submits in the agent's object: debounce (the newest of a burst replaces the waiting run
 * and runs after the quiet time) and rate limits as token buckets (429 with Retry-After).
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call } from "./helpers.js";
import { enroll } from "./hosts.js";
import { newAgent, type Agent } from "./index-helpers.js";

const post = (a: Agent, body: Record<string, unknown>) => call(a.t, "POST", `/v1/agents/${a.name}/runs`, body);
const make = async (a: Agent, body: Record<string, unknown>) => {
  const r = await post(a, { argv: ["true"], ...body });
  expect(r.status, r.text).toBe(201);
  return r.json as { id: string; status: string; error: string | null };
};
const runOf = async (a: Agent, id: string) => (await call(a.t, "GET", `/v1/runs/${id}`)).json;
/** A submit's Retry-After, which `call` does not keep. */
const retryAfter = async (a: Agent, body: Record<string, unknown>) => {
  const res = await (exports as unknown as { default: Fetcher }).default.fetch(`https://tether.test/v1/agents/${a.name}/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${a.t}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.body?.cancel();
  expect(res.status).toBe(429);
  return Number(res.headers.get("retry-after"));
};
const configure = async (a: Agent, config: Record<string, unknown>) => call(a.t, "PATCH", `/v1/agents/${a.name}`, { config });

describe("debounce", () => {
  it("each new run replaces the waiting one, which ends cancelled naming it; the last starts after the quiet time", async () => {
    const a = await newAgent("deb");
    const h = await enroll(a.name, a.enrollToken, "h", { slots: 2 });
    const burst = [];
    for (let i = 0; i < 5; i++) burst.push({ run: await make(a, { debounce: { key: "save", ms: 300 } }), at: Date.now() });
    for (let i = 0; i < 4; i++) {
      expect(await runOf(a, burst[i]!.run.id)).toMatchObject({ status: "cancelled", error: expect.stringContaining(`replaced by run ${burst[i + 1]!.run.id} (debounce key "save")`) });
    }
    const last = burst[4]!;
    // The host has two free slots, yet the last waits out its debounce, and says so.
    expect((await runOf(a, last.run.id)).status).toBe("queued");
    expect(JSON.stringify((await call(a.t, "GET", `/v1/runs/${last.run.id}/events`)).json)).toMatch(/debounced: ready at .* unless a newer run with debounce key \\"save\\" replaces it/);
    // Another key, and runs with none, are not held back.
    const plain = await make(a, {});
    expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: plain.id });
    // The agent's alarm (its retry timer) wakes dispatch when the last run is ready.
    expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: last.run.id });
    expect(Date.now()).toBeGreaterThanOrEqual(last.at + 300 - 5);
    h.sock.sock.close(1000);
  });

  it("under a concurrent burst exactly one run is left waiting, every other replaced by a run of the burst", async () => {
    const a = await newAgent("debburst");
    const rs = await Promise.all(Array.from({ length: 30 }, () => post(a, { argv: ["true"], debounce: { key: "k", ms: 60_000 } })));
    expect(rs.map((r) => r.status)).toEqual(Array(30).fill(201));
    const ids = new Set(rs.map((r) => r.json.id as string));
    const runs = await Promise.all([...ids].map((id) => runOf(a, id)));
    expect(runs.filter((r) => r.status === "queued")).toHaveLength(1);
    for (const r of runs.filter((r) => r.status !== "queued")) {
      expect(r.status).toBe("cancelled");
      expect(ids.has(/replaced by run (\S+) /.exec(r.error)![1]!)).toBe(true);
    }
    // The agent's status says why it waits.
    expect((await call(a.t, "GET", `/v1/agents/${a.name}/status`)).json.queue.waiting).toEqual([{ reason: "debounced: waiting out its quiet time", runs: 1 }]);
    // A run of another key is its own: it replaces nothing of "k".
    const survivor = runs.find((r) => r.status === "queued")!;
    expect((await make(a, { debounce: { key: "other", ms: 60_000 } })).status).toBe("queued");
    expect((await runOf(a, survivor.id)).status).toBe("queued");
  });

  it("is validated strictly", async () => {
    const a = await newAgent("debbad");
    for (const debounce of [{ key: "", ms: 1 }, { key: "k", ms: -1 }, { key: "k", ms: 1.5 }, { key: "k" }, { key: "k", ms: 1, extra: 1 }, "k", { key: "k", ms: 86_400_001 }]) {
      const r = await post(a, { argv: ["true"], debounce });
      expect(r.status, JSON.stringify(debounce)).toBe(400);
      expect(r.type).toContain("application/problem+json");
    }
  });
});

describe("start_rate", () => {
  it("at most limit runs of a key start per window; the next waits, saying why, and starts when the window lets it", async () => {
    const a = await newAgent("srate");
    const h = await enroll(a.name, a.enrollToken, "h", { slots: 4 });
    const rate = { start_rate: { key: "api", limit: 2, window_s: 1 } };
    const r1 = await make(a, rate);
    const first = await h.sock.next();
    const firstAt = Date.now();
    const r2 = await make(a, rate);
    expect(await h.sock.next()).toMatchObject({ run_id: r2.id });
    const r3 = await make(a, rate);
    expect(first.run_id).toBe(r1.id);
    // Two slots are free, yet the third waits for the window: not refused.
    expect(r3.status).toBe("queued");
    expect(JSON.stringify((await call(a.t, "GET", `/v1/runs/${r3.id}/events`)).json)).toMatch(/waiting for start_rate key \\"api\\": 2 starts in the last 1 s, its limit 2/);
    const other = await make(a, { start_rate: { key: "other", limit: 2, window_s: 1 } });
    expect(await h.sock.next()).toMatchObject({ run_id: other.id });
    // The alarm set for the first start's leaving the window wakes dispatch.
    expect(await h.sock.next()).toMatchObject({ run_id: r3.id });
    expect(Date.now()).toBeGreaterThanOrEqual(firstAt + 1000 - 50);
    h.sock.sock.close(1000);
  });

  it("is validated strictly", async () => {
    const a = await newAgent("sratebad");
    for (const start_rate of [{ key: "k", limit: 0, window_s: 1 }, { key: "k", limit: 1, window_s: 0 }, { key: "", limit: 1, window_s: 1 }, { key: "k", limit: 1 }, { key: "k", limit: 1, window_s: 1, x: 1 }]) {
      expect((await post(a, { argv: ["true"], start_rate })).status, JSON.stringify(start_rate)).toBe(400);
    }
  });
});

describe("rate limits", () => {
  it("the agent's bucket: burst at once, then 429 with Retry-After naming the limit; a refused submit costs no token", async () => {
    const a = await newAgent("rate");
    expect((await configure(a, { rate_limit: { per_s: 0.5, burst: 3 } })).status).toBe(200);
    for (let i = 0; i < 3; i++) await make(a, {});
    const r = await post(a, { argv: ["true"] });
    expect(r.status).toBe(429);
    expect(r.type).toContain("application/problem+json");
    expect(r.json.detail).toMatch(/submissions to the agent are past the agent's rate_limit \(0\.5 per second, burst 3\)/);
    // One token comes back every 2 s; had the refusal above taken one, this would say 4.
    expect(await retryAfter(a, { argv: ["true"] })).toBe(2);
    expect((await call(a.t, "GET", `/v1/agents/${a.name}`)).json.queued).toBe(3);
    // null lifts the limit.
    expect((await configure(a, { rate_limit: null })).status).toBe(200);
    await make(a, {});
  });

  it("a concurrency key's bucket limits that key alone", async () => {
    const a = await newAgent("keyrate");
    expect((await configure(a, { key_rate_limit: { per_s: 0.01, burst: 2 } })).status).toBe(200);
    await make(a, { lane: "tenant-a" });
    await make(a, { concurrency: { key: "tenant-a", limit: 1 } });
    const r = await post(a, { argv: ["true"], lane: "tenant-a" });
    expect(r.status).toBe(429);
    expect(r.json.detail).toMatch(/concurrency key "tenant-a" are past the agent's key_rate_limit \(0\.01 per second, burst 2\)/);
    expect(await retryAfter(a, { argv: ["true"], lane: "tenant-a" })).toBe(100);
    await make(a, { lane: "tenant-b" });
    await make(a, {});
  });

  it("config is validated strictly", async () => {
    const a = await newAgent("ratebad");
    for (const rate_limit of [{ per_s: 0, burst: 1 }, { per_s: 1, burst: 0 }, { per_s: 1, burst: 1.5 }, { per_s: 1 }, { per_s: 1, burst: 1, x: 1 }, 5, { per_s: "1", burst: 1 }]) {
      for (const field of ["rate_limit", "key_rate_limit"]) {
        const r = await configure(a, { [field]: rate_limit });
        expect(r.status, `${field} ${JSON.stringify(rate_limit)}`).toBe(400);
        expect(r.type).toContain("application/problem+json");
      }
    }
  });
});
