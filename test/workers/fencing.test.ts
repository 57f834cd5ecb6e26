import { describe, expect, it } from "vitest";
import { encodeBatch, STDOUT } from "../../src/protocol/frames.js";
import { call, freshWorkspace, tokenFor, workspaceToken } from "./helpers.js";
import { openSocket } from "./sockets.js";

/** An attempt's output socket, with that attempt's run token. */
async function attemptSocket(ws: string, agent: string, run: string, attempt: number) {
  return openSocket(`/v1/runs/${run}/stream`, await tokenFor({ kind: "run", ws, agent, run, attempt }));
}

const chunk = (seq: number, text: string) => ({ seq, stream: STDOUT as 1, data: new TextEncoder().encode(text) });

describe("fencing", () => {
  it("refuses a stale attempt's output and end report once a newer attempt has started", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    await call(t, "POST", "/v1/agents", { name: "fence" });
    const run = (await call(t, "POST", "/v1/agents/fence/runs", { argv: ["true"] })).json;

    const one = await attemptSocket(ws, "fence", run.id, 1);
    one.send({ type: "hello", host_id: "host-a", pid: 1 });
    expect(await one.next()).toEqual({ type: "ack", seq: 0 });
    one.send(encodeBatch(1, [chunk(1, "from attempt one\n")]));
    expect(await one.next()).toEqual({ type: "ack", seq: 1 });
    // A resend of the same chunk is acknowledged and stored once.
    one.send(encodeBatch(1, [chunk(1, "from attempt one\n")]));
    expect(await one.next()).toEqual({ type: "ack", seq: 1 });

    const two = await attemptSocket(ws, "fence", run.id, 2);
    two.send({ type: "hello", host_id: "host-b", pid: 2 });
    expect(await two.next()).toEqual({ type: "ack", seq: 0 });

    one.send(encodeBatch(1, [chunk(2, "late output\n")]));
    expect(await one.next()).toEqual({ type: "superseded" });
    const late = await attemptSocket(ws, "fence", run.id, 1);
    late.send({ type: "end", last_seq: 1, reason: "exit", exit_code: 0, signal: null, error: null });
    expect(await late.next()).toEqual({ type: "superseded" });

    const current = (await call(t, "GET", `/v1/runs/${run.id}`)).json;
    expect(current).toMatchObject({ status: "running", attempt: 2 });
    expect((await call(t, "GET", `/v1/runs/${run.id}/output?attempt=1`)).text).toBe("from attempt one\n");

    two.send(encodeBatch(2, [chunk(1, "from attempt two\n")]));
    expect(await two.next()).toEqual({ type: "ack", seq: 1 });
    two.send({ type: "end", last_seq: 1, reason: "exit", exit_code: 0, signal: null, error: null });
    expect(await two.next()).toEqual({ type: "ended" });
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "succeeded", attempt: 2 });
    expect((await call(t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("from attempt two\n");
  });

  it("refuses an end report that claims chunks the edge never stored, and asks for them again", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    await call(t, "POST", "/v1/agents", { name: "gap" });
    const run = (await call(t, "POST", "/v1/agents/gap/runs", { argv: ["true"] })).json;
    const a = await attemptSocket(ws, "gap", run.id, 1);
    a.send({ type: "hello", host_id: "h", pid: 1 });
    expect(await a.next()).toEqual({ type: "ack", seq: 0 });
    a.send({ type: "end", last_seq: 3, reason: "exit", exit_code: 0, signal: null, error: null });
    expect(await a.next()).toEqual({ type: "ack", seq: 0 });
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("running");
  });

  it("a run token reads its own run only, and cannot stream another's", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    await call(t, "POST", "/v1/agents", { name: "tok" });
    const a = (await call(t, "POST", "/v1/agents/tok/runs", { argv: ["true"] })).json;
    const b = (await call(t, "POST", "/v1/agents/tok/runs", { argv: ["true"] })).json;
    const runToken = await tokenFor({ kind: "run", ws, agent: "tok", run: a.id, attempt: 1 });
    expect((await call(runToken, "GET", `/v1/runs/${a.id}`)).status).toBe(200);
    expect((await call(runToken, "GET", `/v1/runs/${b.id}`)).status).toBe(403);
    expect((await call(runToken, "GET", `/v1/runs/${b.id}/stream`, undefined, { upgrade: "websocket" })).status).toBe(403);
    expect((await call(runToken, "POST", `/v1/runs/${a.id}/cancel`)).status).toBe(403);
  });
});
