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

/**
 * The index's own writes: its marks' removals and its timer. The index flush is the alarm's, one
 * for every run changed in its 200 ms, not a step of any one job: a turn that wrote nothing else
 * is counted apart.
 */
const indexOnly = (query: string, args: unknown[]) => /\bindex_outbox\b/.test(query) || (/\btimers\b/.test(query) && args[0] === "index");

/** Counts the turns in which the object's storage was written. */
function countCommits(stub: DurableObjectStub) {
  return runInDurableObject(stub, async (_o, state) => {
    // No alarm goes off while counting: on a slow machine the index's flush (200 ms after a
    // change) landed inside the count, its re-arm counted as a step of the job. Setting an alarm
    // still counts as the write it is.
    await state.storage.deleteAlarm();
    const counter = { commits: 0, index: 0 };
    let turn: { path: boolean } | null = null;
    const touched = (path: boolean) => {
      if (turn) return void (turn.path ||= path);
      const t = (turn = { path });
      setTimeout(() => {
        turn = null;
        if (t.path) counter.commits++;
        else counter.index++;
      }, 0);
    };
    const sql = state.storage.sql;
    const exec = sql.exec.bind(sql);
    sql.exec = ((query: string, ...args: unknown[]) => {
      if (WRITE.test(query)) touched(!indexOnly(query, args));
      return exec(query, ...(args as SqlStorageValue[]));
    }) as typeof sql.exec;
    state.storage.setAlarm = (async () => touched(true)) as typeof state.storage.setAlarm;
    (globalThis as { __commits?: Map<string, typeof counter> }).__commits ??= new Map();
    (globalThis as unknown as { __commits: Map<string, typeof counter> }).__commits.set(state.id.toString(), counter);
    return state.id.toString();
  });
}
const countsOf = (stub: DurableObjectStub, id: string) =>
  runInDurableObject(stub, () => ({ ...(globalThis as unknown as { __commits: Map<string, { commits: number; index: number }> }).__commits.get(id)! }));

describe("durable commits per job", () => {
  async function setup(name: string) {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    const enrollToken = (await call(t, "POST", "/v1/agents", { name })).json.host_token as string;
    const host = await enroll(name, enrollToken, "h");
    const agent = agentStub(E, ws, name);
    const agentKey = await countCommits(agent);
    // The run's id is known only at submit; the run's object is counted from its first word.
    const run = (await call(t, "POST", `/v1/agents/${name}/runs`, { argv: ["echo", "hi"] })).json;
    expect(await host.sock.next()).toMatchObject({ type: "assign", run_id: run.id });
    const runObj = runStub(E, ws, run.id);
    const runKey = await countCommits(runObj);
    const counts = async () => {
      expect((await call(t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("succeeded");
      await new Promise((r) => setTimeout(r, 50));
      const [a, r] = [await countsOf(agent, agentKey), await countsOf(runObj, runKey)];
      return { agent: a.commits, run: r.commits, index: a.index };
    };
    return { t, host, run, counts };
  }

  it("a job that ends at once with one write of output: its end and output on the control socket, 2 commits, no object of its own", async () => {
    const { t, host, run, counts } = await setup("quick");
    host.sock.send({ type: "finished", run_id: run.id, attempt: 1, pid: 7, reason: "exit", exit_code: 0, signal: null, error: null, output: [{ stream: STDOUT, data: btoa("hi\n") }] });
    expect(await host.sock.next()).toEqual({ type: "finished", run_id: run.id, attempt: 1 });
    const n = await counts();
    console.log(`commits for one quick job: agent ${n.agent} (from the submit), run ${n.run}`);
    expect({ agent: n.agent, run: n.run }).toEqual({ agent: 2, run: 0 });
    // Its output and its start are read from the agent as its object would give them.
    expect((await call(t, "GET", `/v1/runs/${run.id}/output`)).text).toBe("hi\n");
  });

  it("a job that streams one batch of output: at most 4 commits across both objects", async () => {
    const { host, run, counts } = await setup("count");
    const s = await streamSocket(run.id, 1, host.credential);
    s.send({ type: "hello", pid: 1 });
    expect(await s.next()).toEqual({ type: "ack", seq: 0 });
    s.send(encodeBatch(1, [{ seq: 1, stream: STDOUT, data: new TextEncoder().encode("hi\n") }]));
    expect(await s.next()).toEqual({ type: "ack", seq: 1 });
    s.send({ type: "end", last_seq: 1, reason: "exit", exit_code: 0, signal: null, error: null });
    expect(await s.next()).toEqual({ type: "ended" });
    const n = await counts();
    console.log(`commits for one streamed job: agent ${n.agent} (from the submit), run ${n.run}; index flushes ${n.index}`);
    // The agent learns that the run has an object with the attempt's end, not when the stream opens.
    expect({ agent: n.agent, run: n.run }).toEqual({ agent: 2, run: 2 });
  });
});
