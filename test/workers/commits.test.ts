/**
 * Durable commits from submit to the terminal state of a job with one output batch, counted by
 * wrapping both objects' storage: a turn of the object that wrote anything is one commit (the
 * runtime makes the writes of one turn durable together).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { agentStub, runStub, type Env } from "../../src/env.js";
import { encodeBatch, STDOUT } from "../../src/protocol/frames.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";
import { enroll, streamSocket } from "./hosts.js";

const E = env as unknown as Env;
const WRITE = /^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b/i;

/** Counts the turns in which the object's storage was written. */
function countCommits(stub: DurableObjectStub) {
  return runInDurableObject(stub, (_o, state) => {
    const counter = { commits: 0 };
    let dirty = false;
    const touched = () => {
      if (dirty) return;
      dirty = true;
      setTimeout(() => {
        dirty = false;
        counter.commits++;
      }, 0);
    };
    const sql = state.storage.sql;
    const exec = sql.exec.bind(sql);
    sql.exec = ((query: string, ...args: unknown[]) => {
      if (WRITE.test(query)) touched();
      return exec(query, ...(args as SqlStorageValue[]));
    }) as typeof sql.exec;
    const setAlarm = state.storage.setAlarm.bind(state.storage);
    state.storage.setAlarm = (...a: Parameters<typeof setAlarm>) => (touched(), setAlarm(...a));
    (globalThis as { __commits?: Map<string, typeof counter> }).__commits ??= new Map();
    (globalThis as unknown as { __commits: Map<string, typeof counter> }).__commits.set(state.id.toString(), counter);
    return state.id.toString();
  });
}

const commitsOf = (stub: DurableObjectStub, id: string) =>
  runInDurableObject(stub, () => (globalThis as unknown as { __commits: Map<string, { commits: number }> }).__commits.get(id)!.commits);

describe("durable commits per job", () => {
  it("submit → assign → one batch of output → end takes at most 4 commits across both objects", async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    const enrollToken = (await call(t, "POST", "/v1/agents", { name: "count" })).json.host_token as string;
    const host = await enroll("count", enrollToken, "h");
    const agent = agentStub(E, ws, "count");
    const agentKey = await countCommits(agent);
    // The run's id is known only at submit; the run's object is counted from its first word.
    const run = (await call(t, "POST", "/v1/agents/count/runs", { argv: ["echo", "hi"] })).json;
    expect(await host.sock.next()).toMatchObject({ type: "assign", run_id: run.id });
    const runObj = runStub(E, ws, run.id);
    const runKey = await countCommits(runObj);
    const s = await streamSocket(run.id, 1, host.credential);
    s.send({ type: "hello", pid: 1 });
    expect(await s.next()).toEqual({ type: "ack", seq: 0 });
    s.send(encodeBatch(1, [{ seq: 1, stream: STDOUT, data: new TextEncoder().encode("hi\n") }]));
    expect(await s.next()).toEqual({ type: "ack", seq: 1 });
    s.send({ type: "end", last_seq: 1, reason: "exit", exit_code: 0, signal: null, error: null });
    expect(await s.next()).toEqual({ type: "ended" });
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("succeeded");
    await new Promise((r) => setTimeout(r, 50));
    const a = await commitsOf(agent, agentKey);
    const r = await commitsOf(runObj, runKey);
    console.log(`commits for one job: agent ${a} (from the submit), run ${r}`);
    expect(a + r).toBeLessThanOrEqual(4);
  });
});
