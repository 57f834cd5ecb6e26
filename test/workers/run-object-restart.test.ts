/**
 * A run's object across a restart of the control plane: every object is reset between the
 * stream's first batch and the attempt's end. Alone in its file, because the reset holds every
 * alarm of the file's objects back (restart.ts says why).
 */
import { describe, expect, it } from "vitest";
import { call } from "./helpers.js";
import { streamSocket } from "./hosts.js";
import { newAgent } from "./index-helpers.js";
import { restartAll } from "./restart.js";
import { known, streaming, types } from "./run-object-helpers.js";

describe("a run's object across a restart", () => {
  it("a restart between the stream's first batch and the end loses nothing: the output reads, and the end is taken once", async () => {
    const a = await newAgent("restarted");
    const { h, run } = await streaming(a, "before\n");
    // Every object goes, as when the control plane is stopped between two commits.
    await restartAll();
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
});
