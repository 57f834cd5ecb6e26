/**
 * SQL statements the agent's object runs for a short job, from its submit to the index's flush,
 * counted by wrapping its storage: every statement is a crossing into the runtime and a step of
 * SQLite on the one thread every object shares, so their number is a job's cost that does not
 * move with the machine's speed.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { agentStub, type Env } from "../../src/env.js";
import { INDEX_TIMER } from "../../src/agent/index-outbox.js";
import { STDOUT } from "../../src/protocol/frames.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";
import { enroll } from "./hosts.js";

const E = env as unknown as Env;
/** What the test leaves in the object's isolate between its calls into it. */
type Hooks = { __statements?: string[]; __alarms?: () => void; __restore?: () => void; __indexDue?: () => number | null };
const JOBS = 50;

describe("statements per job", () => {
  it("a keyed job submitted in a batch, ended on the control socket with its output, and indexed: at most 16", { timeout: 30_000 }, async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    const enrollToken = (await call(t, "POST", "/v1/agents", { name: "count" })).json.host_token as string;
    const host = await enroll("count", enrollToken, "h", { slots: 1 });
    const agent = agentStub(E, ws, "count");
    const submit = async (n: number) => {
      const r = await call(t, "POST", "/v1/agents/count/runs/batch", { runs: Array.from({ length: n }, () => ({ argv: ["true"], idempotency_key: crypto.randomUUID() })) });
      expect(r.status).toBe(200);
    };
    // Each job as tether-agent ends a short one: its end, its start and its output in one message, with the slot it frees.
    const drive = async (n: number) => {
      for (let done = 0; done < n; ) {
        const m = await host.sock.next();
        if (m.type !== "assign") continue;
        done++;
        host.sock.send({ type: "finished", run_id: m.run_id, attempt: m.attempt, pid: 7, reason: "exit", exit_code: 0, signal: null, error: null, credit: 1, output: [{ stream: STDOUT, data: btoa("ok\n") }] });
      }
    };
    // Warm: the object's one-time reads (its profile, its timers, the queue's sequence) are not a job's.
    await submit(5);
    await drive(5);
    await runDurableObjectAlarm(agent);
    // No alarm goes off while the jobs run: how many flushes of the index a slow machine fits in
    // would be counted as the jobs' own. The one flush for all of them comes after, on purpose.
    await runInDurableObject(agent, async (_o, state) => {
      const storage = state.storage;
      const sql = storage.sql;
      const exec = sql.exec.bind(sql);
      const setAlarm = storage.setAlarm.bind(storage);
      const g = globalThis as Hooks;
      g.__statements = [];
      g.__alarms = () => (storage.setAlarm = setAlarm);
      g.__restore = () => (sql.exec = exec as typeof sql.exec);
      g.__indexDue = () => exec<{ due_at: number }>("SELECT due_at FROM timers WHERE key = ?", INDEX_TIMER).toArray()[0]?.due_at ?? null;
      await storage.deleteAlarm();
      storage.setAlarm = (async () => {}) as typeof storage.setAlarm;
      sql.exec = ((q: string, ...args: SqlStorageValue[]) => (g.__statements!.push(q.replace(/\s+/g, " ").slice(0, 80)), exec(q, ...args))) as typeof sql.exec;
    });
    await submit(JOBS);
    await drive(JOBS);
    for (let i = 0; i < 50 && (await call(t, "GET", "/v1/agents/count")).json.running > 0; i++) await scheduler.wait(10);
    const due = await runInDurableObject(agent, () => (globalThis as Hooks).__indexDue!());
    expect(due, "the jobs left their runs for the index to flush").not.toBeNull();
    await scheduler.wait(Math.max(0, due! - Date.now()));
    // The index's flush, for every run at once: an alarm set late, and run now.
    await runInDurableObject(agent, (_o, state) => ((globalThis as Hooks).__alarms!(), state.storage.setAlarm(Date.now() + 60_000)));
    expect(await runDurableObjectAlarm(agent)).toBe(true);
    const statements = await runInDurableObject(agent, () => {
      const g = globalThis as Hooks;
      g.__restore!();
      return g.__statements!;
    });
    expect(statements.filter((q) => q.startsWith("SELECT key, version FROM index_outbox")).length, "one flush").toBeGreaterThan(0);
    const counts = new Map<string, number>();
    for (const s of statements) counts.set(s, (counts.get(s) ?? 0) + 1);
    const detail = [...counts].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${(n / JOBS).toFixed(2)} ${s}`).join("\n");
    expect(statements.length / JOBS, detail).toBeLessThanOrEqual(16);
    host.sock.sock.close(1000);
  });
});
