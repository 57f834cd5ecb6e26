import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env.js";
import { encodeBatch, STDOUT } from "../../src/protocol/frames.js";
import { call, freshWorkspace, tokenFor, workspaceToken } from "./helpers.js";
import { enroll, streamSocket } from "./hosts.js";

const E = env as unknown as Env;
const chunk = (seq: number, text: string) => ({ seq, stream: STDOUT as 1, data: new TextEncoder().encode(text) });
const end = (last_seq: number) => ({ type: "end", last_seq, reason: "exit", exit_code: 0, signal: null, error: null });

async function agentWithRun(name: string, argv = ["true"]) {
  const ws = freshWorkspace();
  const t = await workspaceToken(ws);
  const enrollToken = (await call(t, "POST", "/v1/agents", { name })).json.host_token as string;
  const a = await enroll(name, enrollToken, "host-a");
  const run = (await call(t, "POST", `/v1/agents/${name}/runs`, { argv })).json;
  expect(await a.sock.next()).toMatchObject({ type: "assign", run_id: run.id, attempt: 1 });
  return { ws, t, enrollToken, a, run };
}

describe("fencing", () => {
  it("keeps a lost attempt's output as its own, and its late end report changes nothing", async () => {
    const { ws, t, enrollToken, a, run } = await agentWithRun("fence");
    const one = await streamSocket(run.id, 1, a.credential);
    one.send({ type: "hello", pid: 1 });
    expect(await one.next()).toEqual({ type: "ack", seq: 0 });
    one.send(encodeBatch(1, [chunk(1, "from attempt one\n")]));
    expect(await one.next()).toEqual({ type: "ack", seq: 1 });
    // A resend of the same chunk is acknowledged and stored once.
    one.send(encodeBatch(1, [chunk(1, "from attempt one\n")]));
    expect(await one.next()).toEqual({ type: "ack", seq: 1 });

    // Host A goes silent past its lease: the run is retried on host B.
    a.sock.sock.close(1000);
    await call(t, "GET", "/v1/agents/fence");
    const stub = E.AGENT.get(E.AGENT.idFromName(`${ws}:fence`));
    await runInDurableObject(stub, (_o, state) => {
      state.storage.sql.exec("UPDATE runs SET missing_since = 1");
      state.storage.sql.exec("UPDATE timers SET due_at = 1 WHERE kind = 'lease'");
    });
    await runDurableObjectAlarm(stub);
    // The retry's delay has passed.
    await runInDurableObject(stub, (_o, state) => state.storage.sql.exec("UPDATE runs SET ready_at = 0 WHERE status = 'queued'"));
    const b = await enroll("fence", enrollToken, "host-b");
    expect(await b.sock.next()).toMatchObject({ type: "assign", run_id: run.id, attempt: 2 });

    // Host A's end for attempt 1 is acknowledged, and decides nothing.
    one.send(end(1));
    expect(await one.next()).toEqual({ type: "ended" });
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "running", attempt: 2 });
    // Host A may not stream attempt 2: it was not given it.
    const stolen = await streamSocket(run.id, 2, a.credential);
    stolen.send({ type: "hello", pid: 9 });
    expect(await stolen.next()).toEqual({ type: "superseded" });

    const two = await streamSocket(run.id, 2, b.credential);
    two.send({ type: "hello", pid: 2 });
    expect(await two.next()).toEqual({ type: "ack", seq: 0 });
    two.send(encodeBatch(2, [chunk(1, "from attempt two\n")]));
    expect(await two.next()).toEqual({ type: "ack", seq: 1 });
    two.send(end(1));
    expect(await two.next()).toEqual({ type: "ended" });
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "succeeded", attempt: 2 });
    expect((await call(t, "GET", `/v1/runs/${run.id}/output?attempt=1`)).text).toBe("from attempt one\n");
    expect((await call(t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("from attempt two\n");
  });

  it("refuses an end report that claims chunks the edge never stored, and asks for them again", async () => {
    const { t, a, run } = await agentWithRun("gap");
    const s = await streamSocket(run.id, 1, a.credential);
    s.send({ type: "hello", pid: 1 });
    expect(await s.next()).toEqual({ type: "ack", seq: 0 });
    s.send(end(3));
    expect(await s.next()).toEqual({ type: "ack", seq: 0 });
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("running");
  });

  it("a job's token reads its own run only, and can neither stream nor end nor cancel anything", async () => {
    const { ws, t, a, run } = await agentWithRun("tok", ["sleep", "100"]);
    const other = (await call(t, "POST", "/v1/agents/tok/runs", { argv: ["true"] })).json;
    const jobToken = await tokenFor({ kind: "job", ws, agent: "tok", run: run.id, attempt: 1 });
    expect((await call(jobToken, "GET", `/v1/runs/${run.id}`)).status).toBe(200);
    expect((await call(jobToken, "GET", `/v1/runs/${other.id}`)).status).toBe(403);
    expect((await call(jobToken, "GET", `/v1/runs/${run.id}/stream?attempt=1`, undefined, { upgrade: "websocket" })).status).toBe(403);
    expect((await call(jobToken, "POST", `/v1/runs/${run.id}/cancel`)).status).toBe(403);
    // The host's credential streams; the run is still the host's to end, with its real exit code.
    const s = await streamSocket(run.id, 1, a.credential);
    s.send({ type: "hello", pid: 1 });
    expect(await s.next()).toEqual({ type: "ack", seq: 0 });
    s.send({ ...end(0), exit_code: 7 });
    expect(await s.next()).toEqual({ type: "ended" });
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "failed", exit_code: 7 });
  });
});
