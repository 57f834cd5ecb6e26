/**
 * When a run's object comes to be: an attempt's output stream makes it, and the run's agent hears
 * so for sure only with the attempt's end, in the end's own commit. Until then the run's reads ask
 * the object without making it, so they see what was streamed, and a run that never streamed
 * still has none.
 */
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { agentStub, runStub } from "../../src/env.js";
import { encodeBatch, STDOUT } from "../../src/protocol/frames.js";
import { call } from "./helpers.js";
import { enroll, streamSocket } from "./hosts.js";
import { E, newAgent, submit, type Agent } from "./index-helpers.js";

const tables = (a: Agent, id: string) =>
  runInDurableObject(runStub(E, a.ws, id), (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").one().n);
/** What the agent has written down about the run's object: 0 none, 1 it exists, 2 it may. */
const known = (a: Agent, id: string) =>
  runInDurableObject(agentStub(E, a.ws, a.name), (_o, state) => state.storage.sql.exec<{ has_object: number }>("SELECT has_object FROM runs WHERE id = ?", id).one().has_object);
/** How far off the agent's alarm is, in ms; -1 while none is set, as while its handler runs. */
const alarmIn = (a: Agent) =>
  runInDurableObject(agentStub(E, a.ws, a.name), async (_o, state) => {
    const at = await state.storage.getAlarm();
    return at === null ? -1 : at - Date.now();
  });
const types = (events: { type: string; status?: string }[]) => events.map((e) => (e.type === "state" ? `state:${e.status}` : e.type));

async function streaming(a: Agent, text: string) {
  const h = await enroll(a.name, a.enrollToken, "h", { slots: 1 });
  const run = await submit(a, { argv: ["echo"] });
  expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: run.id, attempt: 1 });
  const s = await streamSocket(run.id, 1, h.credential);
  s.send({ type: "hello", pid: 77 });
  expect(await s.next()).toEqual({ type: "ack", seq: 0 });
  s.send(encodeBatch(1, [{ seq: 1, stream: STDOUT, data: new TextEncoder().encode(text) }]));
  expect(await s.next()).toEqual({ type: "ack", seq: 1 });
  return { h, run, s };
}

describe("a run's object", () => {
  it("reading a started run that has not streamed makes no object", async () => {
    const a = await newAgent("unstreamed");
    const h = await enroll(a.name, a.enrollToken, "h", { slots: 1 });
    const run = await submit(a, { argv: ["sleep", "9"] });
    expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: run.id });
    expect(await known(a, run.id)).toBe(2);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("");
    expect(types((await call(a.t, "GET", `/v1/runs/${run.id}/events`)).json.events)).toEqual(["state:queued", "attempt_started", "state:running"]);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/batch`)).json).toMatchObject({ output: [], more: false });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/input`)).json).toEqual({ waiting: [] });
    expect(await tables(a, run.id)).toBe(0);
  });

  it("what a running attempt streamed is read from its object before its agent has written that it exists", async () => {
    const a = await newAgent("streamed");
    const { run, s } = await streaming(a, "hi\n");
    expect(await known(a, run.id)).toBe(2);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("hi\n");
    const events = (await call(a.t, "GET", `/v1/runs/${run.id}/events`)).json.events;
    expect(types(events)).toEqual(["state:queued", "attempt_started", "state:running", "process_started"]);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/batch`)).json.output).toHaveLength(1);
    s.send({ type: "end", last_seq: 1, reason: "exit", exit_code: 0, signal: null, error: null });
    expect(await s.next()).toEqual({ type: "ended" });
    expect(await known(a, run.id)).toBe(1);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("succeeded");
  });

  it("a restart between the stream's first batch and the end loses nothing: the output reads, and the end is taken once", async () => {
    const a = await newAgent("restarted");
    const { h, run } = await streaming(a, "before\n");
    // The index flush the submit armed runs first (the next alarm is the lease's, seconds off):
    // an alarm the abort cut off would fail, and workerd reports that as an uncaught exception,
    // which has stalled the test pool.
    await expect.poll(() => alarmIn(a), { timeout: 5_000 }).toBeGreaterThan(1_000);
    // Every object goes, as when the control plane is stopped between two commits.
    await abortAllDurableObjects();
    expect(await known(a, run.id)).toBe(2);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("before\n");
    // The host comes back on a new stream and ends the attempt there.
    const s = await streamSocket(run.id, 1, h.credential);
    s.send({ type: "hello", pid: 77 });
    expect(await s.next()).toEqual({ type: "ack", seq: 1 });
    s.send({ type: "end", last_seq: 1, reason: "exit", exit_code: 0, signal: null, error: null });
    expect(await s.next()).toEqual({ type: "ended" });
    expect(await known(a, run.id)).toBe(1);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "succeeded", attempt: 1 });
    const events = types((await call(a.t, "GET", `/v1/runs/${run.id}/events`)).json.events);
    expect(events.filter((e) => e === "process_started" || e === "attempt_ended")).toEqual(["process_started", "attempt_ended"]);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("before\n");
  });

  it("an attempt that streamed and lost its host: its output and its end are read, and deleting the run removes its object", async () => {
    const a = await newAgent("orphan");
    expect((await call(a.t, "PATCH", `/v1/agents/${a.name}`, { config: { retry: { max_attempts: 1 } } })).status).toBe(200);
    const { h, run } = await streaming(a, "partial\n");
    h.sock.send({ type: "bye" });
    expect((await h.sock.closed).code).toBe(1000);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("orphaned");
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("partial\n");
    expect(types((await call(a.t, "GET", `/v1/runs/${run.id}/events`)).json.events).at(-1)).toBe("state:orphaned");
    expect(await tables(a, run.id)).toBeGreaterThan(0);
    expect((await call(a.t, "DELETE", `/v1/runs/${run.id}`)).status).toBe(204);
    expect(await tables(a, run.id)).toBe(0);
  });

  it("an attempt that may have streamed keeps its output readable after a later attempt ends on the control socket", async () => {
    const a = await newAgent("retried");
    expect((await call(a.t, "PATCH", `/v1/agents/${a.name}`, { config: { retry: { max_attempts: 2, delay_ms: 0 } } })).status).toBe(200);
    const { h, run } = await streaming(a, "first\n");
    h.sock.send({ type: "bye" });
    expect((await h.sock.closed).code).toBe(1000);
    expect(await known(a, run.id)).toBe(3);
    const b = await enroll(a.name, a.enrollToken, "b", { slots: 1 });
    expect(await b.sock.next()).toMatchObject({ type: "assign", run_id: run.id, attempt: 2 });
    b.sock.send({ type: "finished", run_id: run.id, attempt: 2, pid: 8, reason: "exit", exit_code: 0, signal: null, error: null, output: [{ stream: STDOUT, data: btoa("second\n") }] });
    expect(await b.sock.next()).toEqual({ type: "finished", run_id: run.id, attempt: 2 });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "succeeded", attempt: 2 });
    expect(await known(a, run.id)).toBe(3);
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output?attempt=1`)).text).toBe("first\n");
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("second\n");
    expect((await call(a.t, "DELETE", `/v1/runs/${run.id}`)).status).toBe(204);
    expect(await tables(a, run.id)).toBe(0);
  });

  it("an attempt whose stream is open ends on it: an end on the control socket is sent back there", async () => {
    const a = await newAgent("twoways");
    const { h, run, s } = await streaming(a, "out\n");
    h.sock.send({ type: "finished", run_id: run.id, attempt: 1, pid: 77, reason: "exit", exit_code: 0, signal: null, error: null, output: [] });
    expect(await h.sock.next()).toEqual({ type: "finished", run_id: run.id, attempt: 1, stream: true });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("running");
    s.send({ type: "end", last_seq: 1, reason: "exit", exit_code: 0, signal: null, error: null });
    expect(await s.next()).toEqual({ type: "ended" });
    expect((await call(a.t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("succeeded");
    expect((await call(a.t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("out\n");
  });
});
