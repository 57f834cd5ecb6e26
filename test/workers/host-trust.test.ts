/** Hosts the edge can trust: a host id speaks only with its own credential, and only the lease holder acts on a lease. */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { agentStub, type Env } from "../../src/env.js";
import { encodeBatch, STDOUT } from "../../src/protocol/frames.js";
import { LIMITS } from "../../src/protocol/limits.js";
import { CLOSE_LIMIT, CLOSE_PROTOCOL, PROTOCOL, PROTOCOL_MIN } from "../../src/protocol/version.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";
import { connectHost, enroll, streamSocket } from "./hosts.js";
import { openSocket } from "./sockets.js";

async function agent(name: string, config: Record<string, unknown> = {}) {
  const t = await workspaceToken(freshWorkspace());
  const enrollToken = (await call(t, "POST", "/v1/agents", { name, config })).json.host_token as string;
  return { t, enrollToken };
}

describe("host trust", () => {
  it("the enrollment token cannot push out a connected host under its id", async () => {
    const { t, enrollToken } = await agent("imp");
    const real = await enroll("imp", enrollToken, "real");
    const impostor = await connectHost("imp", enrollToken, "real");
    expect((await impostor.closed).code).toBe(4003);
    // The real host still holds its connection and takes work.
    const run = (await call(t, "POST", "/v1/agents/imp/runs", { argv: ["true"] })).json;
    expect(await real.sock.next()).toMatchObject({ type: "assign", run_id: run.id });
  });

  it("a credential speaks only for its own host id", async () => {
    const { enrollToken } = await agent("own");
    const a = await enroll("own", enrollToken, "a");
    const asB = await connectHost("own", a.credential, "b");
    expect((await asB.closed).code).toBe(1008);
  });

  it("a reject from a host that does not hold the lease changes nothing", async () => {
    const { t, enrollToken } = await agent("rej", { retry: { max_attempts: 1 } });
    const holder = await enroll("rej", enrollToken, "holder");
    const run = (await call(t, "POST", "/v1/agents/rej/runs", { argv: ["sleep", "100"] })).json;
    expect(await holder.sock.next()).toMatchObject({ type: "assign", attempt: 1 });
    const other = await enroll("rej", enrollToken, "other", { slots: 4 });
    other.sock.send({ type: "reject", run_id: run.id, attempt: 1, reason: "mine now" });
    await call(t, "GET", "/v1/agents/rej");
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "running", attempt: 1 });
  });

  it("a revoked host is disconnected, loses its leases, and its credential stops working; others go on", async () => {
    const { t, enrollToken } = await agent("rev", { retry: { delay_ms: 0 } });
    const bad = await enroll("rev", enrollToken, "bad");
    const good = await enroll("rev", enrollToken, "good");
    const run = (await call(t, "POST", "/v1/agents/rev/runs", { argv: ["sleep", "100"] })).json;
    const first = (await Promise.race([bad.sock.next().then((m) => ({ m, who: "bad" })), good.sock.next().then((m) => ({ m, who: "good" }))])) as { who: string };
    const hosts = (await call(t, "GET", "/v1/agents/rev/hosts")).json.hosts;
    expect(hosts.map((h: { host_id: string }) => h.host_id).sort()).toEqual(["bad", "good"]);
    expect((await call(t, "DELETE", `/v1/agents/rev/hosts/${first.who}`)).status).toBe(204);
    const revoked = first.who === "bad" ? bad : good;
    expect((await revoked.sock.closed).code).toBe(4001);
    expect((await call(revoked.credential, "GET", "/v1/agents/rev/connect", undefined, { upgrade: "websocket" })).status).toBe(401);
    const s = await streamSocket(run.id, 1, revoked.credential);
    s.send({ type: "hello", pid: 1 });
    expect(await s.next()).toEqual({ type: "superseded" });
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: first.who === "good" ? "queued" : "running" });
    expect((await call(t, "DELETE", "/v1/agents/rev/hosts/nobody")).status).toBe(404);
  });

  it("an acknowledgement of live input ahead of what was sent swallows no later input", async () => {
    const { t, enrollToken } = await agent("ackahead");
    const h = await enroll("ackahead", enrollToken, "h");
    const run = (await call(t, "POST", "/v1/agents/ackahead/runs", { argv: ["cat"], stdin: { mode: "pipe" } })).json;
    await h.sock.next();
    const s = await streamSocket(run.id, 1, h.credential);
    s.send({ type: "hello", pid: 1 });
    await s.next();
    s.send({ type: "input_ack", seq: 1000 });
    const answer = call(t, "POST", `/v1/runs/${run.id}/input`, { data: "one" });
    const sent = await s.next();
    expect(sent).toMatchObject({ type: "input", seq: 1, data: btoa("one") });
    s.send({ type: "input_ack", seq: 1 });
    expect((await answer).json).toEqual({ state: "delivered", seq: 1 });
    s.send({ type: "input_ack", seq: 1000 });
    const second = call(t, "POST", `/v1/runs/${run.id}/input`, { data: "two" });
    expect(await s.next()).toMatchObject({ type: "input", seq: 2, data: btoa("two") });
    s.send({ type: "input_ack", seq: 2 });
    expect((await second).json).toEqual({ state: "delivered", seq: 2 });
    expect((await call(t, "GET", `/v1/runs/${run.id}/input`)).json).toEqual({ waiting: [] });
    s.sock.close(1000);
    h.sock.sock.close(1000);
  });

  it("refuses a host outside the protocol range with a close reason that says what to upgrade", async () => {
    const { enrollToken } = await agent("ver");
    for (const protocol of [1, PROTOCOL + 1]) {
      const host = await connectHost("ver", enrollToken, `v${protocol}`, { protocol });
      const closed = await host.closed;
      expect(closed.code).toBe(CLOSE_PROTOCOL);
      expect(closed.reason).toMatch(new RegExp(`host protocol ${protocol} is not supported; this control plane speaks ${PROTOCOL_MIN}-${PROTOCOL}: upgrade`));
    }
    // A hello with no version at all is the first protocol's.
    const old = await openSocket("/v1/agents/ver/connect", enrollToken);
    old.send({ type: "hello", host_id: "old", hostname: "box", version: "0.1.0", slots: 1, running: [] });
    expect((await old.closed).code).toBe(CLOSE_PROTOCOL);
  });

  it("ignores fields and message types it does not know, so a newer host works", async () => {
    const { t, enrollToken } = await agent("new");
    const sock = await openSocket("/v1/agents/new/connect", enrollToken);
    sock.send({ type: "hello", protocol: PROTOCOL, host_id: "n", hostname: "box", version: "9.0.0", slots: 1, running: [], gpu: { count: 8 } });
    expect((await sock.next()).type).toBe("welcome");
    sock.send({ type: "telemetry", load: 0.5 });
    const run = (await call(t, "POST", "/v1/agents/new/runs", { argv: ["true"] })).json;
    expect(await sock.next()).toMatchObject({ type: "assign", run_id: run.id });
  });

  it("closes a stream whose batch holds more chunks than a host may send, with a reason", async () => {
    const { t, enrollToken } = await agent("lim");
    const h = await enroll("lim", enrollToken, "h");
    const run = (await call(t, "POST", "/v1/agents/lim/runs", { argv: ["true"] })).json;
    await h.sock.next();
    const s = await streamSocket(run.id, 1, h.credential);
    s.send({ type: "hello", pid: 1 });
    await s.next();
    const empty = new Uint8Array(0);
    s.send(encodeBatch(1, Array.from({ length: LIMITS.batchChunks + 1 }, (_, i) => ({ seq: i + 1, stream: STDOUT as 1, data: empty }))));
    const closed = await s.closed;
    expect(closed.code).toBe(CLOSE_LIMIT);
    expect(closed.reason).toMatch(/more than 1024 chunks/);
  });

  it("a credit or a drain that changes nothing is not written to the host's record", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    const enrollToken = (await call(t, "POST", "/v1/agents", { name: "noop" })).json.host_token as string;
    const h = await enroll("noop", enrollToken, "h");
    const stub = agentStub(env as unknown as Env, ws, "noop");
    // The host's record lives on its socket (its attachment): count the writes of it.
    await runInDurableObject(stub, (_o, state) => {
      const g = globalThis as { __noopWrites?: number };
      g.__noopWrites = 0;
      for (const sock of state.getWebSockets()) {
        const write = sock.serializeAttachment.bind(sock);
        sock.serializeAttachment = (v: unknown) => (g.__noopWrites!++, write(v));
      }
    });
    const writes = () => runInDurableObject(stub, () => (globalThis as { __noopWrites?: number }).__noopWrites!);
    // An end for a run the agent never had is only acknowledged; its ack says every message before it was handled.
    const unknownEnd = { type: "finished", run_id: `run_${"0".repeat(28)}_noop`, attempt: 1, pid: null, reason: "exit", exit_code: 0, signal: null, error: null, output: [] };
    // The host's one slot is free already: its credits free nothing.
    for (let i = 0; i < 200; i++) h.sock.send({ type: "credit", n: 1 });
    h.sock.send(unknownEnd);
    expect(await h.sock.next()).toMatchObject({ type: "finished" });
    // At most one write: the time the host was last heard from is kept in memory between writes a second apart.
    expect(await writes()).toBeLessThanOrEqual(1);
    // The first drain is written; the next ones drain nothing.
    const before = await writes();
    for (let i = 0; i < 200; i++) h.sock.send({ type: "drain" });
    h.sock.send(unknownEnd);
    expect(await h.sock.next()).toMatchObject({ type: "finished" });
    expect((await writes()) - before).toBeLessThanOrEqual(2);
  });

  it("closes a control socket that floods it, and other hosts go on", async () => {
    const { t, enrollToken } = await agent("flood");
    const flood = await enroll("flood", enrollToken, "flood");
    const calm = await enroll("flood", enrollToken, "calm");
    // The limit counts the messages handled within a second. On a busy machine the runtime can hand
    // the object fewer than that in a second, however many were sent: the clock stands still for the flood.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    try {
      for (let i = 0; i < LIMITS.socketMessagesPerS + 500; i++) flood.sock.send({ type: "drain" });
      expect((await flood.sock.closed).code).toBe(CLOSE_LIMIT);
    } finally {
      vi.useRealTimers();
    }
    const run = (await call(t, "POST", "/v1/agents/flood/runs", { argv: ["true"] })).json;
    expect(await calm.sock.next()).toMatchObject({ type: "assign", run_id: run.id });
  });
});
