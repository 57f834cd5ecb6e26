/** An agent's schedules, as its object holds them: what its RPC methods and its alarm call. */
import type { Timer, Timers } from "../agent/timers.js";
import type { Env } from "../env.js";
import type { JobSpec, Run } from "../protocol/run.js";
import { newScheduleId, type Schedule, type ScheduleEvent } from "../protocol/schedule.js";
import { scheduleOfTimer, SYNC_TIMER, TIMER_KIND, timerKey, WATCH_MS, type AgentSide, type ScheduleContext } from "./context.js";
import { cronProblem } from "./cron.js";
import { DirectorySync } from "./directory.js";
import { Firing, nextSlot } from "./firing.js";
import type { NewSchedule, SchedulePatch } from "./input.js";
import { ScheduleStore, toView, type ScheduleRow } from "./store.js";

/** Schedules one agent may hold. */
export const SCHEDULES_PER_AGENT = 1000;

export type Outcome<T> = { ok: true; value: T } | { ok: false; status: 400 | 404 | 409; detail: string };

const missing = (id: string): Outcome<never> => ({ ok: false, status: 404, detail: `schedule ${id} does not exist` });

export class Schedules {
  private readonly c: ScheduleContext;
  private readonly firing: Firing;
  private readonly directory: DirectorySync;
  /** One operation at a time per schedule: a tick, a trigger and a refresh never interleave their awaits. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(storage: DurableObjectStorage, env: Env, timers: Timers, agent: AgentSide) {
    this.c = { storage, store: new ScheduleStore(storage.sql), timers, env, agent, clock: () => Date.now() };
    this.firing = new Firing(this.c);
    this.directory = new DirectorySync(this.c);
  }

  /** For tests that drive the real object through time. */
  setClock(clock: () => number): void {
    this.c.clock = clock;
  }

  async create(input: NewSchedule): Promise<Outcome<Schedule>> {
    const p = this.c.agent.profile();
    if (!p) return { ok: false, status: 404, detail: "the agent does not exist" };
    const now = this.c.clock();
    const problem = cronProblem(input.cron, input.timezone, now);
    if (problem) return { ok: false, status: 400, detail: problem };
    if (this.c.store.count() >= SCHEDULES_PER_AGENT) {
      return { ok: false, status: 409, detail: `agent ${p.name} has ${SCHEDULES_PER_AGENT} schedules, the most it may have; delete one first` };
    }
    const at = new Date(now).toISOString();
    const base = { cron: input.cron, timezone: input.timezone, cursor: now };
    const row: ScheduleRow = {
      id: newScheduleId(p.name, now),
      ...base,
      run: JSON.stringify(input.run),
      enabled: input.enabled ? 1 : 0,
      overlap: input.overlap,
      misfire: input.misfire,
      created_at: at,
      updated_at: at,
      next_run_at: nextSlot(base, now),
      pending_slot: null,
      last_run_id: null,
      last_run_at: null,
      last_status: null,
      fires: 0,
      skips: 0,
      misfires: 0,
      version: 1,
    };
    this.c.storage.transactionSync(() => {
      this.c.store.insert(row);
      this.firing.retime(row.id);
    });
    await this.settle();
    return { ok: true, value: toView(row, p.name) };
  }

  /** The schedule with its last run's status read fresh. */
  async get(id: string): Promise<Schedule | null> {
    const p = this.c.agent.profile();
    if (!p || !this.c.store.get(id)) return null;
    await this.locked(id, () => this.firing.refreshLast(id));
    const row = this.c.store.get(id);
    await this.settle();
    return row ? toView(row, p.name) : null;
  }

  async update(id: string, patch: SchedulePatch): Promise<Outcome<Schedule>> {
    const p = this.c.agent.profile();
    const row = this.c.store.get(id);
    if (!p || !row) return missing(id);
    const now = this.c.clock();
    const cron = patch.cron ?? row.cron;
    const timezone = patch.timezone ?? row.timezone;
    const enabled = patch.enabled ?? row.enabled === 1;
    const retimed = cron !== row.cron || timezone !== row.timezone || (enabled && row.enabled === 0);
    if (retimed) {
      const problem = cronProblem(cron, timezone, now);
      if (problem) return { ok: false, status: 400, detail: problem };
    }
    // A new expression, or a resume, starts from now: slots before it are not owed.
    const cursor = retimed ? Math.max(row.cursor, now) : row.cursor;
    const dropsWaiting = !enabled && row.pending_slot !== null;
    const updated = this.c.storage.transactionSync(() => {
      if (dropsWaiting) this.c.store.addEvent(id, { type: "skipped", at: new Date(now).toISOString(), slot: new Date(row.pending_slot!).toISOString(), previous_run_id: row.last_run_id, reason: "paused" });
      const next = this.c.store.update(id, {
        cron,
        timezone,
        cursor,
        enabled: enabled ? 1 : 0,
        run: patch.run ? JSON.stringify(patch.run) : row.run,
        overlap: patch.overlap ?? row.overlap,
        misfire: patch.misfire ?? row.misfire,
        next_run_at: retimed ? nextSlot({ cron, timezone, cursor }, now) : row.next_run_at,
        pending_slot: enabled ? row.pending_slot : null,
        skips: row.skips + (dropsWaiting ? 1 : 0),
        updated_at: new Date(now).toISOString(),
      })!;
      this.firing.retime(id);
      return next;
    });
    await this.settle();
    return { ok: true, value: toView(updated, p.name) };
  }

  async remove(id: string): Promise<boolean> {
    // An agent that was never made has no tables to look in (its object exists only as this call).
    if (!this.c.agent.profile()) return false;
    const gone = this.c.storage.transactionSync(() => {
      if (!this.c.store.delete(id)) return false;
      this.c.timers.clear(timerKey(id));
      return true;
    });
    if (gone) await this.settle();
    return gone;
  }

  /** Runs the schedule's job now, whatever its overlap policy says: someone asked for it. */
  async trigger(id: string): Promise<Run | null> {
    return this.locked(id, async () => {
      const row = this.c.agent.profile() ? this.c.store.get(id) : null;
      if (!row) return null;
      const at = new Date(this.c.clock()).toISOString();
      const submitted = await this.c.agent.submit(JSON.parse(row.run) as JobSpec, { schedule_id: id, scheduled_for: at });
      if (!submitted) return null;
      const { run } = submitted;
      this.c.storage.transactionSync(() => {
        const now = this.c.store.get(id);
        if (!now) return;
        this.c.store.addEvent(id, { type: "fired", at, slot: null, run_id: run.id, trigger: true });
        this.c.store.update(id, { last_run_id: run.id, last_run_at: run.created_at, last_status: run.status, fires: now.fires + 1 });
        this.firing.retime(id);
      });
      await this.settle();
      return run;
    });
  }

  events(id: string): ScheduleEvent[] | null {
    return this.c.agent.profile() && this.c.store.get(id) ? this.c.store.events(id) : null;
  }

  /** The alarm's handler for schedule timers; it never throws, so other timers still run. */
  async onTimer(timer: Timer): Promise<void> {
    const id = scheduleOfTimer(timer.key);
    try {
      if (timer.key === SYNC_TIMER) this.c.timers.clear(SYNC_TIMER);
      else if (id) await this.locked(id, () => this.firing.tick(id));
      await this.directory.flush();
    } catch (err) {
      console.error("schedule timer failed; retrying", timer.key, err);
      this.c.timers.set(timer.key, TIMER_KIND, this.c.clock() + WATCH_MS);
    }
  }

  /** A run ended, or left the queue: if it is a schedule's last run, that schedule looks again now. */
  async runSettled(runId: string): Promise<void> {
    if (this.firing.runSettled(runId)) await this.c.timers.arm();
  }

  /** Before the agent goes: the workspace's directory forgets its schedules. */
  forgetAll(): Promise<void> {
    return this.directory.forgetAgent();
  }

  /** The agent is deleted: its schedules, their fires, events and timers go with it (inside the caller's transaction). */
  removeAll(): void {
    const sql = this.c.storage.sql;
    for (const t of ["schedules", "schedule_fires", "schedule_events", "schedule_sync"]) sql.exec(`DELETE FROM ${t}`);
    sql.exec("DELETE FROM timers WHERE kind IN ('schedule', 'schedule-sync')");
  }

  private async settle(): Promise<void> {
    await this.c.timers.arm();
    await this.directory.flush();
  }

  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return run;
  }
}
