/**
 * An attempt that ends before it opened its output stream reports its end, with what it wrote,
 * on its host's control socket: only the lease holder's report counts, the output is kept whole
 * or not taken, and a run without an object reads as its object will once one is made.
 */
import { exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readSse } from "../../src/client/sse.js";
import { runStub } from "../../src/env.js";
import { STDERR, STDOUT } from "../../src/protocol/frames.js";
import { LIMITS } from "../../src/protocol/limits.js";
import { call } from "./helpers.js";
import { connectHost, enroll, streamSocket } from "./hosts.js";
import { E, newAgent, submit, type Agent } from "./index-helpers.js";

const b64 = (s: string) => btoa(s);
const types = (events: { type: string }[]) => events.map((e) => (e.type === "state" ? `state:${(e as unknown as { status: string }).status}` : e.type));
const tables = (a: Agent, id: string) =>
  runInDurableObject(runStub(E, a.ws, id), (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").one().n);

function finished(runId: string, attempt: number, output: { stream: number; data: string }[] = [], exit = 0) {
  return { type: "finished", run_id: runId, attempt, pid: 4242, reason: "exit", exit_code: exit, signal: null, error: null, output };
}

async function assigned(a: Agent, body: Record<string, unknown> = { argv: ["echo", "hi"] }) {
  const h = await enroll(a.name, a.enrollToken, "h", { slots: 1 });
  const run = await submit(a, body);
  expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: run.id, attempt: 1 });
  return { h, run };
}

describe("an attempt's end on the control socket", () => {
  it("ends the run with its start and output, makes no object, and reads as the object will once one is made", async () => {
    const a = await newAgent("quick");
    const { h, run } = await assigned(a);
    h.sock.send(finished(run.id, 1, [{ stream: STDOUT, data: b64("one\n") }, { stream: STDERR, data: b64("two\n") }]));
    expect(await h.sock.next()).toEqual({ type: "finished", run_id: run.id, attempt: 1 });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "succeeded", exit_code: 0 });
    expect(await tables(a, run.id)).toBe(0);

    const held = (await call(a.t, "GET", `/v1/runs/${run.id}/events`)).json.events;
    expect(types(held)).toEqual(["state:queued", "attempt_started", "state:running", "process_started", "attempt_ended", "state:succeeded"]);
    expect(held[3]).toMatchObject({ type: "process_started", attempt: 1, pid: 4242, host_id: "h" });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("one\ntwo\n");
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output?stream=stderr`)).text).toBe("two\n");
    const batch = (await call(a.t, "GET", `/v1/runs/${run.id}/batch`)).json;
    expect(batch.output.map((o: { stream: string; data_base64: string }) => [o.stream, atob(o.data_base64)])).toEqual([["stdout", "one\n"], ["stderr", "two\n"]]);

    // A watcher makes the object: the same events with the same ids, the output between them.
    const res = await (exports as unknown as { default: Fetcher }).default.fetch(`https://tether.test/v1/runs/${run.id}/watch`, { headers: { authorization: `Bearer ${a.t}` } });
    const frames = [];
    for await (const f of readSse(res.body!)) frames.push(f);
    expect(frames.map((f) => f.event)).toEqual(["state", "event", "state", "event", "output", "output", "event", "state"]);
    const heldIds = held.map((e: { id: number }) => e.id);
    expect(frames.filter((f) => f.event !== "output").map((f) => Number(f.id))).toEqual(heldIds);
    expect(frames.filter((f) => f.event === "output").map((f) => Number(f.id))).toEqual([batch.output[0].id, batch.output[1].id]);
    expect(await tables(a, run.id)).toBeGreaterThan(0);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/events`)).json.events).toEqual(held);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("one\ntwo\n");
  });

  it("a watcher already on the run hears the start, the output and the end", async () => {
    const a = await newAgent("watched");
    const { h, run } = await assigned(a);
    const res = await (exports as unknown as { default: Fetcher }).default.fetch(`https://tether.test/v1/runs/${run.id}/watch`, { headers: { authorization: `Bearer ${a.t}` } });
    const frames: { event: string; data: string }[] = [];
    const done = (async () => {
      for await (const f of readSse(res.body!)) frames.push(f);
    })();
    h.sock.send(finished(run.id, 1, [{ stream: STDOUT, data: b64("hi\n") }], 3));
    expect(await h.sock.next()).toEqual({ type: "finished", run_id: run.id, attempt: 1 });
    await done;
    expect(frames.map((f) => f.event)).toEqual(["state", "event", "state", "event", "output", "event", "state"]);
    expect(JSON.parse(frames[6]!.data)).toMatchObject({ status: "failed" });
  });

  it("only the host holding the lease ends an attempt; a resend or a stranger is answered and changes nothing", async () => {
    const a = await newAgent("trust");
    const { h, run } = await assigned(a);
    const other = await enroll(a.name, a.enrollToken, "other", { slots: 1 });
    other.sock.send(finished(run.id, 1));
    expect(await other.sock.next()).toEqual({ type: "finished", run_id: run.id, attempt: 1 });
    h.sock.send(finished(run.id, 2));
    expect(await h.sock.next()).toEqual({ type: "finished", run_id: run.id, attempt: 2 });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("running");
    h.sock.send(finished(run.id, 1, [], 0));
    expect(await h.sock.next()).toEqual({ type: "finished", run_id: run.id, attempt: 1 });
    h.sock.send(finished(run.id, 1, [], 9));
    expect(await h.sock.next()).toEqual({ type: "finished", run_id: run.id, attempt: 1 });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "succeeded", exit_code: 0 });
  });

  it("an end resent after the host lost its socket is taken once: one start, one end, one copy of the output", async () => {
    const a = await newAgent("resend");
    const { h, run } = await assigned(a);
    const end = finished(run.id, 1, [{ stream: STDOUT, data: b64("once\n") }]);
    // Sent, and the socket gone before the answer was read: the host cannot know whether it was taken.
    h.sock.send(end);
    h.sock.sock.close(1000);
    const back = await connectHost(a.name, h.credential, "h", { running: [{ run_id: run.id, attempt: 1, exited: true }] });
    expect(await back.next()).toMatchObject({ type: "welcome" });
    back.send(end);
    expect(await back.next()).toEqual({ type: "finished", run_id: run.id, attempt: 1 });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "succeeded", attempt: 1 });
    const events = (await call(a.t, "GET", `/v1/runs/${run.id}/events`)).json.events;
    expect(types(events).filter((t) => t === "process_started" || t === "attempt_ended")).toEqual(["process_started", "attempt_ended"]);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("once\n");
  });

  it("more output than the message may carry is a protocol fault; more than the run may store goes to the stream", async () => {
    const a = await newAgent("big");
    expect((await call(a.t, "PATCH", "/v1/agents/big", { config: { max_output_bytes: 1024 } })).status).toBe(200);
    const { h, run } = await assigned(a);
    h.sock.send(finished(run.id, 1, [{ stream: STDOUT, data: b64("x".repeat(2000)) }]));
    expect(await h.sock.next()).toEqual({ type: "finished", run_id: run.id, attempt: 1, stream: true });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("running");
    // On the stream the output is cut at the cap, and the run ends.
    const s = await streamSocket(run.id, 1, h.credential);
    s.send({ type: "hello", pid: 1 });
    expect(await s.next()).toEqual({ type: "ack", seq: 0 });
    s.send({ type: "end", last_seq: 0, reason: "exit", exit_code: 0, signal: null, error: null });
    expect(await s.next()).toEqual({ type: "ended" });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("succeeded");

    const run2 = await submit(a, { argv: ["echo"] });
    h.sock.send({ type: "credit", n: 1 });
    expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: run2.id });
    h.sock.send(finished(run2.id, 1, [{ stream: STDOUT, data: b64("y".repeat(LIMITS.controlOutputBytes + 1)) }]));
    expect((await h.sock.closed).code).toBe(1008);
    expect((await call(a.t, "GET", `/v1/runs/${run2.id}`)).json.status).toBe("running");
  });
});
