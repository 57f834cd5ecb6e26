/** Driving runs to their ends and waiting for the workspace index, for the index tests. */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { agentStub, type Env } from "../../src/env.js";
import { encodeBatch, STDOUT } from "../../src/protocol/frames.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";
import { enroll, streamSocket } from "./hosts.js";

export const E = env as unknown as Env;

export async function newAgent(name: string, ws = freshWorkspace()) {
  const t = await workspaceToken(ws);
  const res = await call(t, "POST", "/v1/agents", { name });
  expect(res.status).toBe(201);
  return { ws, t, name, enrollToken: res.json.host_token as string, stub: agentStub(E, ws, name) };
}

export type Agent = Awaited<ReturnType<typeof newAgent>>;

export const submit = async (a: Agent, body: Record<string, unknown>) => {
  const res = await call(a.t, "POST", `/v1/agents/${a.name}/runs`, body);
  expect(res.status).toBe(201);
  return res.json as { id: string; status: string };
};

/** A host that runs each run it is given to the end, with this exit code and output. */
export async function host(a: Agent, id = "h") {
  const h = await enroll(a.name, a.enrollToken, id, { slots: 1 });
  return {
    ...h,
    async finish(runId: string, exitCode: number, output = "out\n") {
      const assign = await h.sock.next();
      expect(assign).toMatchObject({ type: "assign", run_id: runId });
      const s = await streamSocket(runId, assign.attempt, h.credential);
      s.send({ type: "hello", pid: 1 });
      expect(await s.next()).toEqual({ type: "ack", seq: 0 });
      s.send(encodeBatch(assign.attempt, [{ seq: 1, stream: STDOUT, data: new TextEncoder().encode(output) }]));
      expect(await s.next()).toEqual({ type: "ack", seq: 1 });
      s.send({ type: "end", last_seq: 1, reason: "exit", exit_code: exitCode, signal: null, error: null });
      expect(await s.next()).toEqual({ type: "ended" });
      s.sock.close(1000);
      h.sock.send({ type: "credit", n: 1 });
    },
  };
}

/** Waits until every mark of these agents is in D1: flushes, and runs the alarm where a flush failed. */
export async function indexed(...agents: Agent[]) {
  for (const a of agents) {
    for (let i = 0; (await a.stub.indexPending()) > 0; i++) {
      if (i > 20) throw new Error(`the index of ${a.name} did not converge`);
      if (!(await a.stub.flushIndex())) await runDurableObjectAlarm(a.stub);
    }
  }
}
