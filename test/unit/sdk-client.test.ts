/**
 * The SDK on its own (a fake server): how a client is made, what is retried and how long it
 * waits (full jitter, Retry-After first), lists as async iterators over pages, and errors as
 * TetherError with the problem's status, type and detail.
 */
import { describe, expect, it } from "vitest";
import { createClient, fromEnv, TetherClient, TetherError, type RetryOptions } from "../../src/client/sdk.js";

type Answer = Response | Error | (() => Response | Error);
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const problem = (status: number, detail: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: status === 503 ? "unavailable" : "rate-limited", title: "No", status, detail }), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
const networkError = () => new TypeError("fetch failed");

/** A client whose server answers from the list; its waits are noted, not slept. */
function fake(answers: Answer[], retry: RetryOptions = {}) {
  const calls: { method: string; url: string; body?: unknown }[] = [];
  const sleeps: number[] = [];
  const fetch = (async (url: string, init?: RequestInit) => {
    calls.push({ method: init?.method ?? "GET", url, ...(init?.body !== undefined && { body: JSON.parse(String(init.body)) }) });
    const next = answers.shift();
    if (!next) throw new Error(`no answer left for ${url}`);
    const a = typeof next === "function" ? next() : next;
    if (a instanceof Error) throw a;
    return a;
  }) as typeof globalThis.fetch;
  const client = createClient({
    url: "http://plane.test/",
    token: "t",
    fetch,
    retry: { random: () => 0.5, sleep: async (ms) => void sleeps.push(ms), ...retry },
  });
  return { client, calls, sleeps };
}

describe("making a client", () => {
  it("createClient and fromEnv make a TetherClient; fromEnv says what is missing", () => {
    expect(createClient({ url: "http://x", token: "t" })).toBeInstanceOf(TetherClient);
    expect(fromEnv({ TETHER_URL: "http://x", TETHER_TOKEN: "t" })).toBeInstanceOf(TetherClient);
    expect(TetherClient.fromEnv({ TETHER_URL: "http://x", TETHER_TOKEN: "t" })).toBeInstanceOf(TetherClient);
    expect(() => fromEnv({ TETHER_URL: "http://x" })).toThrow(/TETHER_URL and TETHER_TOKEN/);
  });
});

describe("retries", () => {
  it("a GET told 503 without Retry-After waits full jitter: random(0, min(cap, base * 2^retry))", async () => {
    const { client, calls, sleeps } = fake([problem(503, "busy"), problem(503, "busy"), problem(503, "busy"), json({ id: "run_1" })]);
    expect(await client.get("run_1")).toEqual({ id: "run_1" });
    expect(calls).toHaveLength(4);
    // random() = 0.5 of 100, 200, 400 ms
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it("the jitter spans [0, the bound): random 0 waits nothing, random near 1 nearly the bound, and the bound stops at the cap", async () => {
    let r = 0;
    const seq = [0, 0.999, 0.999, 0.999, 0.999];
    const { client, sleeps } = fake([...Array(5)].map(() => problem(503, "busy")).concat(json({})), { tries: 6, capMs: 300, random: () => seq[r++]! });
    await client.get("run_1");
    expect(sleeps).toEqual([0, 199, 299, 299, 299]);
  });

  it("Retry-After wins over the backoff, on 429 and 503", async () => {
    const { client, sleeps } = fake([problem(429, "slow down", { "retry-after": "2" }), problem(503, "busy", { "retry-after": "1" }), json({ runs: [], next_cursor: null })]);
    await client.listRuns();
    expect(sleeps).toEqual([2000, 1000]);
  });

  it("network errors are retried for what is safe to repeat: GET, DELETE, cancel, a keyed submit", async () => {
    const { client, calls, sleeps } = fake([networkError(), json({ id: "r" }), networkError(), new Response(null, { status: 204 }), networkError(), json({ id: "r" }, 202), networkError(), json({ id: "r" }, 201)]);
    await client.get("r");
    await client.deleteRun("r");
    await client.cancel("r");
    await client.submit("a", { argv: ["true"] });
    expect(calls.map((c) => c.method)).toEqual(["GET", "GET", "DELETE", "DELETE", "POST", "POST", "POST", "POST"]);
    expect(sleeps).toEqual([50, 50, 50, 50]);
    // The submit went twice with one key: one run.
    expect((calls[6]!.body as { idempotency_key: string }).idempotency_key).toBe((calls[7]!.body as { idempotency_key: string }).idempotency_key);
  });

  it("what is not safe to repeat is sent once: a 503, a 429 or a network error is the caller's", async () => {
    const a = fake([problem(503, "busy")]);
    await expect(a.client.approve("r")).rejects.toMatchObject({ status: 503 });
    const b = fake([networkError()]);
    await expect(b.client.input("r", "x")).rejects.toThrow("fetch failed");
    const c = fake([problem(429, "slow", { "retry-after": "1" })]);
    await expect(c.client.configureAgent("a", { max_queued: 5 })).rejects.toMatchObject({ status: 429, retryAfterS: 1 });
    for (const f of [a, b, c]) expect(f.calls).toHaveLength(1);
  });

  it("an aborted request is not retried, and a Retry-After past the maximum is left to the caller", async () => {
    const abort = Object.assign(new Error("aborted"), { name: "AbortError" });
    const a = fake([abort]);
    await expect(a.client.get("r")).rejects.toBe(abort);
    const b = fake([problem(503, "busy", { "retry-after": "61" })]);
    await expect(b.client.get("r")).rejects.toMatchObject({ status: 503, retryAfterS: 61 });
    expect(a.calls.length + b.calls.length).toBe(2);
  });

  it("after `tries` sends the last answer is the error, and other statuses are not retried", async () => {
    const a = fake([...Array(3)].map(() => problem(503, "still busy")), { tries: 3 });
    const err = (await a.client.get("r").catch((e: unknown) => e)) as TetherError;
    expect(err).toBeInstanceOf(TetherError);
    expect([err.status, err.type, err.detail]).toEqual([503, "unavailable", "still busy"]);
    expect(a.calls).toHaveLength(3);
    expect(a.sleeps).toHaveLength(2);
    const b = fake([problem(500, "broken")]);
    await expect(b.client.get("r")).rejects.toMatchObject({ status: 500 });
    expect(b.calls).toHaveLength(1);
  });
});

describe("errors", () => {
  it("TetherError has the status, the problem's type, title and detail; an answer not problem+json still has a detail", async () => {
    const { client } = fake([
      new Response(JSON.stringify({ type: "not-found", title: "Not Found", status: 404, detail: "run run_x not found" }), { status: 404, headers: { "content-type": "application/problem+json" } }),
      new Response("<html>bad gateway</html>", { status: 502 }),
    ]);
    const e1 = (await client.get("run_x").catch((e: unknown) => e)) as TetherError;
    expect(e1).toBeInstanceOf(TetherError);
    expect(e1).toBeInstanceOf(Error);
    expect({ status: e1.status, type: e1.type, title: e1.title, detail: e1.detail, message: e1.message, name: e1.name }).toEqual({
      status: 404,
      type: "not-found",
      title: "Not Found",
      detail: "run run_x not found",
      message: "run run_x not found",
      name: "TetherError",
    });
    const e2 = (await client.get("run_x").catch((e: unknown) => e)) as TetherError;
    expect([e2.status, e2.type, e2.detail, e2.problem]).toEqual([502, "about:blank", "HTTP 502", null]);
  });
});

describe("lists as async iterators", () => {
  it("runs(filter) follows next_cursor, page by page, with the filter on every page", async () => {
    const { client, calls } = fake([
      json({ runs: [{ id: "r3" }, { id: "r2" }], next_cursor: "c1" }),
      json({ runs: [{ id: "r1" }], next_cursor: "c2" }),
      json({ runs: [], next_cursor: null }),
    ]);
    const ids: string[] = [];
    for await (const run of client.runs({ status: ["failed", "timed_out"], label: { pr: "1" }, limit: 2 })) ids.push(run.id);
    expect(ids).toEqual(["r3", "r2", "r1"]);
    const urls = calls.map((c) => new URL(c.url));
    expect(urls.map((u) => u.searchParams.get("cursor"))).toEqual([null, "c1", "c2"]);
    for (const u of urls) expect([u.pathname, u.searchParams.get("status"), u.searchParams.get("label"), u.searchParams.get("limit")]).toEqual(["/v1/runs", "failed,timed_out", "pr=1", "2"]);
  });

  it("asks for a page only when the loop wants more", async () => {
    const { client, calls } = fake([json({ agents: [{ name: "a" }, { name: "b" }], next_cursor: "c1" }), json({ agents: [{ name: "c" }], next_cursor: null })]);
    for await (const agent of client.agents()) {
      expect(agent.name).toBe("a");
      break;
    }
    expect(calls).toHaveLength(1);
  });

  it("agents() and schedules() go to the end", async () => {
    const { client, calls } = fake([
      json({ agents: [{ name: "a" }], next_cursor: "a" }),
      json({ agents: [{ name: "b" }], next_cursor: null }),
      json({ schedules: [{ id: "s1" }], next_cursor: "s1" }),
      json({ schedules: [{ id: "s2" }], next_cursor: null }),
    ]);
    const names: string[] = [];
    for await (const a of client.agents({ limit: 1 })) names.push(a.name);
    for await (const s of client.schedules({ agent: "x" })) names.push(s.id);
    expect(names).toEqual(["a", "b", "s1", "s2"]);
    expect(calls.map((c) => c.url.replace("http://plane.test", ""))).toEqual(["/v1/agents?limit=1", "/v1/agents?limit=1&cursor=a", "/v1/schedules?agent=x", "/v1/schedules?agent=x&cursor=s1"]);
  });

  it("events() reads a run's events page after page by next_after", async () => {
    const ev = (id: number) => ({ id, type: "state", at: "t" });
    const { client, calls } = fake([json({ events: [ev(1), ev(2)], next_after: 2 }), json({ events: [ev(3)], next_after: 3 }), json({ events: [], next_after: 3 })]);
    const ids: number[] = [];
    for await (const e of client.events("run_1")) ids.push(e.id);
    expect(ids).toEqual([1, 2, 3]);
    expect(calls.map((c) => new URL(c.url).searchParams.get("after"))).toEqual(["0", "2", "3"]);
  });
});

describe("schedules", () => {
  it("pause and resume change `enabled` and nothing else", async () => {
    const { client, calls } = fake([json({ id: "s" }), json({ id: "s" })]);
    await client.pauseSchedule("s");
    await client.resumeSchedule("s");
    expect(calls).toEqual([
      { method: "PATCH", url: "http://plane.test/v1/schedules/s", body: { enabled: false } },
      { method: "PATCH", url: "http://plane.test/v1/schedules/s", body: { enabled: true } },
    ]);
  });
});

describe("watch", () => {
  const sse = (text: string) => new Response(text, { status: 200, headers: { "content-type": "text/event-stream" } });
  const state = (id: number, status: string) => `id: ${id}\nevent: state\ndata: ${JSON.stringify({ id: "r", status })}\n\n`;

  it("past the run's watchers (429) waits Retry-After and comes back; a stream that closes early resumes after the last id with a jittered wait", async () => {
    const { client, calls, sleeps } = fake([problem(429, "too many watchers", { "retry-after": "2" }), sse(state(1, "queued") + "id: 2\nevent: sta"), sse(state(2, "running") + state(3, "succeeded"))]);
    const seen: number[] = [];
    for await (const ev of client.watch("r")) seen.push(ev.id);
    expect(seen).toEqual([1, 2, 3]);
    expect(sleeps).toEqual([2000, 50]);
    expect(calls).toHaveLength(3);
  });

  it("ends at once on a 204 (an ended run with nothing after `after`), and a refusal other than 429/503 is the caller's", async () => {
    const a = fake([new Response(null, { status: 204 })]);
    const seen: unknown[] = [];
    for await (const ev of a.client.watch("r", { after: 9 })) seen.push(ev);
    expect(seen).toEqual([]);
    const b = fake([problem(404 as number, "run r not found")]);
    await expect((async () => { for await (const _ of b.client.watch("r")) void _; })()).rejects.toMatchObject({ status: 404 });
  });
});

describe("wait", () => {
  const run = (status: string) => json({ id: "r", status });

  it("asks again while the run lives, and through a control plane that goes away for longer than one request's retries", async () => {
    // tries: 2, so each ask fails after two sends; the wait itself goes on.
    const down = Array.from({ length: 6 }, networkError);
    const { client, calls } = fake([run("running"), ...down, problem(503, "overloaded"), problem(503, "overloaded"), run("succeeded")], { tries: 2 });
    expect(await client.wait("r")).toMatchObject({ status: "succeeded" });
    expect(calls.every((c) => c.method === "GET" && c.url === "http://plane.test/v1/runs/r/wait")).toBe(true);
    expect(calls).toHaveLength(10);
  });

  it("gives up on a refusal other than load, on load that asks for a wait past the maximum, and after so many failed asks in a row", async () => {
    await expect(fake([problem(404 as number, "run r not found")]).client.wait("r")).rejects.toMatchObject({ status: 404 });
    await expect(fake([problem(503, "overloaded", { "retry-after": "3600" })]).client.wait("r")).rejects.toMatchObject({ status: 503, retryAfterS: 3600 });
    const { client, calls } = fake(Array.from({ length: 100 }, networkError), { tries: 1 });
    await expect(client.wait("r")).rejects.toThrow(/fetch failed/);
    expect(calls).toHaveLength(21);
  });
});
