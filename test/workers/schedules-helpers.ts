/**
 * Drives a real agent object's alarm through time. The object reads time for its schedules
 * from a clock the test sets; its timer rows are made due, and its alarm handler is run, as
 * the runtime runs it when they come due.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { AgentDO } from "../../src/agent/agent-do.js";
import { agentStub, type Env } from "../../src/env.js";
import type { Schedules } from "../../src/schedules/schedules.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";

export const ENV = env as unknown as Env;

export interface Bench {
  token: string;
  ws: string;
  agent: string;
  stub: DurableObjectStub<AgentDO>;
  /** Sets the object's clock to `ms`, makes its schedule timers due and runs its alarm. */
  alarmAt(ms: number): Promise<void>;
  setClock(ms: number): Promise<void>;
  /** Simulates the control plane going away: `reset` (restart.ts's) resets the objects, and they come back from storage. */
  restart(reset: () => Promise<void>): Promise<void>;
  create(body: Record<string, unknown>): Promise<any>;
  get(id: string): Promise<any>;
  events(id: string): Promise<any[]>;
  runsOf(id: string): Promise<any[]>;
}

const schedulesOf = (agent: AgentDO) => (agent as unknown as { schedules: Schedules }).schedules;

export async function bench(agent = "clock"): Promise<Bench> {
  const ws = freshWorkspace();
  const token = await workspaceToken(ws);
  expect((await call(token, "POST", "/v1/agents", { name: agent })).status).toBe(201);
  let clock = Date.now();
  const setClock = async (ms: number) => {
    clock = ms;
    await runInDurableObject(b.stub, (o) => schedulesOf(o).setClock(() => clock));
  };
  const b: Bench = {
    token,
    ws,
    agent,
    stub: agentStub(ENV, ws, agent),
    setClock,
    async alarmAt(ms) {
      await setClock(ms);
      // The alarm's handler, run here on the timers made due here: once a timer is due, any
      // re-arming in the object (an index flush ending) sets the alarm to now and the runtime
      // runs it on its own, so a separate runDurableObjectAlarm could find none left to run and
      // return before that run had done its work. A second run of a handler is harmless.
      await runInDurableObject(b.stub, async (o, state) => {
        state.storage.sql.exec("UPDATE timers SET due_at = 0 WHERE kind = 'schedule'");
        await o.alarm();
      });
    },
    async restart(reset) {
      // Every object of this file's Worker is reset, as when the control plane goes away. Not
      // state.abort() inside runInDurableObject: that fails the request it is called in, and
      // workerd logs every such request as an uncaught exception, even on an idle object.
      await reset();
      // A stub stays bound to the instance it reached, so the old one shows the reset happened;
      // a new one reaches the object as it comes back.
      await expect(runInDurableObject(b.stub, () => 0)).rejects.toThrow(/abortAllDurableObjects/);
      b.stub = agentStub(ENV, ws, agent);
      await setClock(clock);
    },
    async create(body) {
      const r = await call(token, "POST", `/v1/agents/${agent}/schedules`, body);
      expect(r.status, r.text).toBe(201);
      return r.json;
    },
    async get(id) {
      return (await call(token, "GET", `/v1/schedules/${id}`)).json;
    },
    async events(id) {
      return (await call(token, "GET", `/v1/schedules/${id}/events`)).json.events;
    },
    /** The runs the schedule made, from its fired events, as the runs' objects show them. */
    async runsOf(id) {
      const fired = (await b.events(id)).filter((e) => e.type === "fired");
      return Promise.all(fired.map(async (e) => (await call(token, "GET", `/v1/runs/${e.run_id}`)).json));
    },
  };
  return b;
}

export const at = (iso: string) => Date.parse(iso);
export const isoOf = (ms: number) => new Date(ms).toISOString();
