/**
 * When a run's object comes to be: an attempt's output stream makes it, and the run's agent hears
 * so for sure only with the attempt's end, in the end's own commit. Until then it knows which
 * attempts it started have opened a stream: reads of those ask the object, so they see what was
 * streamed, and reads of the others ask none, so a run that never streamed still has none.
 */
import { describe, expect, it } from "vitest";
import { STDOUT } from "../../src/protocol/frames.js";
import { call } from "./helpers.js";
import { enroll } from "./hosts.js";
import { newAgent, submit } from "./index-helpers.js";
import { known, made, streaming, tables, types } from "./run-object-helpers.js";

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
    // Not even an empty database: asking an object that was never made would make its file.
    expect(await made(a, run.id)).toBe(false);
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
