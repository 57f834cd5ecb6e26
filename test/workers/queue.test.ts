/**
 * Which queued run goes next, decided in the agent's object: priority, lanes and concurrency
 * keys with their strategies, the agent's caps, dedup keys and routing by host labels.
 */
import { describe, expect, it } from "vitest";
import { call } from "./helpers.js";
import { enroll, finish } from "./hosts.js";
import { newAgent, type Agent } from "./index-helpers.js";

const post = (a: Agent, body: Record<string, unknown>) => call(a.t, "POST", `/v1/agents/${a.name}/runs`, body);
const make = async (a: Agent, body: Record<string, unknown>) => {
  const r = await post(a, { argv: ["true"], ...body });
  expect(r.status, r.text).toBe(201);
  return r.json as { id: string; status: string };
};

describe("queue semantics", () => {
  it("higher priority goes first, and runs of one priority in the order they came", async () => {
    const a = await newAgent("prio");
    const low = await make(a, { priority: "low" });
    const n1 = await make(a, {});
    const urgent = await make(a, { priority: "urgent" });
    const n2 = await make(a, { priority: 5 });
    const nine = await make(a, { priority: 9 });
    const h = await enroll(a.name, a.enrollToken, "h", { slots: 5 });
    const order: string[] = [];
    for (let i = 0; i < 5; i++) order.push((await h.sock.next()).run_id);
    expect(order).toEqual([urgent.id, nine.id, n1.id, n2.id, low.id]);
    expect((await post(a, { argv: ["true"], priority: 10 })).status).toBe(400);
    h.sock.sock.close(1000);
  });

  it("a lane runs one at a time in order, though the host has room, and says what a run waits for", async () => {
    const a = await newAgent("lane");
    const h = await enroll(a.name, a.enrollToken, "h", { slots: 4 });
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await make(a, { lane: "session-42" }));
    const other = await make(a, {});
    expect(await h.sock.next()).toMatchObject({ run_id: runs[0]!.id });
    expect(await h.sock.next()).toMatchObject({ run_id: other.id });
    const waiting = (await call(a.t, "GET", `/v1/runs/${runs[1]!.id}/events`)).json;
    expect(JSON.stringify(waiting)).toMatch(/waiting for concurrency key \\"session-42\\"/);
    for (let i = 0; i < 3; i++) {
      if (i > 0) expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: runs[i]!.id });
      expect((await call(a.t, "GET", `/v1/runs/${runs[i + 1]?.id ?? runs[i]!.id}`)).json.status).toBe(i < 2 ? "queued" : "running");
      await finish(h.credential, runs[i]!.id, 1);
    }
    h.sock.sock.close(1000);
  });

  it("cancel_in_progress: a new run cancels its key's others; cancel_newest: the new one is cancelled while the key is full", async () => {
    const a = await newAgent("strat");
    const first = await make(a, { concurrency: { key: "deploy", strategy: "cancel_in_progress" } });
    const second = await make(a, { concurrency: { key: "deploy", strategy: "cancel_in_progress" } });
    expect((await call(a.t, "GET", `/v1/runs/${first.id}`)).json).toMatchObject({ status: "cancelled", error: expect.stringContaining(`replaced by run ${second.id}`) });
    expect((await call(a.t, "GET", `/v1/runs/${second.id}`)).json.status).toBe("queued");
    const keep = await make(a, { concurrency: { key: "build", limit: 1, strategy: "cancel_newest" } });
    const dropped = await make(a, { concurrency: { key: "build", limit: 1, strategy: "cancel_newest" } });
    expect(dropped.status).toBe("cancelled");
    expect((await call(a.t, "GET", `/v1/runs/${dropped.id}`)).json.error).toMatch(/cancel_newest/);
    expect((await call(a.t, "GET", `/v1/runs/${keep.id}`)).json.status).toBe("queued");
  });

  it("round_robin: among keys with runs waiting, the key served least recently goes next", async () => {
    const a = await newAgent("rr");
    const rr = (key: string) => make(a, { concurrency: { key, limit: 10, strategy: "round_robin" } });
    const [a1, a2, a3, b1, b2, c1] = [await rr("A"), await rr("A"), await rr("A"), await rr("B"), await rr("B"), await rr("C")];
    const h = await enroll(a.name, a.enrollToken, "h", { slots: 1 });
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const assigned = await h.sock.next();
      order.push(assigned.run_id);
      await finish(h.credential, assigned.run_id, 1);
      h.sock.send({ type: "credit", n: 1 }); // the slot is free again, as a host says
    }
    // With queue it would be A1 A2 A3 B1 B2 C1.
    expect(order).toEqual([a1, b1, c1, a2, b2, a3].map((r) => r!.id));
    h.sock.sock.close(1000);
  });

  it("max_concurrent caps the agent's running runs whatever its hosts' slots", async () => {
    const a = await newAgent("cap");
    expect((await call(a.t, "PATCH", `/v1/agents/${a.name}`, { config: { max_concurrent: 2 } })).status).toBe(200);
    const h = await enroll(a.name, a.enrollToken, "h", { slots: 4 });
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await make(a, {}));
    const first = await h.sock.next();
    const second = await h.sock.next();
    expect([first.run_id, second.run_id]).toEqual([runs[0]!.id, runs[1]!.id]);
    expect((await call(a.t, "GET", `/v1/runs/${runs[2]!.id}`)).json.status).toBe("queued");
    await finish(h.credential, runs[0]!.id, 1);
    expect(await h.sock.next()).toMatchObject({ run_id: runs[2]!.id });
    h.sock.sock.close(1000);
  });

  it("max_queued refuses past the cap with a 429 and Retry-After, and changes nothing", async () => {
    const a = await newAgent("full");
    await call(a.t, "PATCH", `/v1/agents/${a.name}`, { config: { max_queued: 2 } });
    await make(a, {});
    await make(a, {});
    const r = await post(a, { argv: ["true"] });
    expect(r.status).toBe(429);
    expect(r.type).toContain("application/problem+json");
    expect(r.json.detail).toMatch(/max_queued/);
    expect((await call(a.t, "GET", `/v1/agents/${a.name}`)).json.queued).toBe(2);
  });

  it("a dedup key allows one live run: 409 with its id, or that run with on_duplicate return; free again once it ends", async () => {
    const a = await newAgent("dedup");
    const first = await make(a, { dedup_key: "nightly" });
    const again = await post(a, { argv: ["true"], dedup_key: "nightly" });
    expect(again.status).toBe(409);
    expect(again.json.existing_run_id).toBe(first.id);
    const returned = await post(a, { argv: ["true"], dedup_key: "nightly", on_duplicate: "return" });
    expect(returned.status).toBe(200);
    expect(returned.json.id).toBe(first.id);
    await call(a.t, "POST", `/v1/runs/${first.id}/cancel`);
    expect((await post(a, { argv: ["true"], dedup_key: "nightly" })).status).toBe(201);
  });

  it("100 concurrent submits with one idempotency key or one dedup key make one run", async () => {
    const a = await newAgent("burst");
    const idem = await Promise.all(Array.from({ length: 100 }, () => post(a, { argv: ["true"], idempotency_key: "k" })));
    expect(new Set(idem.map((r) => r.json.id)).size).toBe(1);
    expect(idem.filter((r) => r.status === 201)).toHaveLength(1);
    const dedup = await Promise.all(Array.from({ length: 100 }, () => post(a, { argv: ["true"], dedup_key: "d" })));
    expect(dedup.filter((r) => r.status === 201)).toHaveLength(1);
    expect(dedup.filter((r) => r.status === 409)).toHaveLength(99);
  });

  it("routes by host labels: a run waits, saying for what, until a host with them all connects", async () => {
    const a = await newAgent("labels");
    const plain = await enroll(a.name, a.enrollToken, "plain", { slots: 2 });
    const gpu = await make(a, { requires: { gpu: "true", os: "linux" } });
    const any = await make(a, {});
    expect(await plain.sock.next()).toMatchObject({ run_id: any.id });
    const events = JSON.stringify((await call(a.t, "GET", `/v1/runs/${gpu.id}/events`)).json);
    expect(events).toMatch(/waiting for a host with gpu=true, os=linux/);
    const status = (await call(a.t, "GET", `/v1/agents/${a.name}/status`)).json;
    expect(status.queue.waiting).toEqual([{ reason: "no connected host has gpu=true, os=linux", runs: 1 }]);
    const { openSocket } = await import("./sockets.js");
    const sock = await openSocket(`/v1/agents/${a.name}/connect`, a.enrollToken);
    sock.send({ type: "hello", protocol: 2, host_id: "big", hostname: "box", version: "test", slots: 1, running: [], labels: { gpu: "true", os: "linux", zone: "a" } });
    expect(await sock.next()).toMatchObject({ type: "welcome" });
    expect(await sock.next()).toMatchObject({ type: "assign", run_id: gpu.id });
    const big = (await call(a.t, "GET", `/v1/agents/${a.name}/status`)).json.hosts.find((h: { host_id: string }) => h.host_id === "big");
    expect(big.labels).toEqual({ gpu: "true", os: "linux", zone: "a" });
    plain.sock.sock.close(1000);
    sock.sock.close(1000);
  });
});
