/**
 * Firing a schedule: decide its due slots from its cursor (plan.ts), persist the decision, the
 * new cursor and the slots to submit in one transaction, then submit each slot's run with the
 * idempotency key `<schedule id>:<slot>`. An alarm that comes twice finds the cursor moved; a
 * crash between the decision and the submit leaves the slot in `schedule_fires` to submit
 * again; a submit repeated after all returns the run the first one made.
 */
import { isTerminal, type JobSpec, type RunStatus } from "../protocol/run.js";
import type { ScheduleEvent } from "../protocol/schedule.js";
import { RETRY_MS, TIMER_KIND, timerKey, WATCH_MS, type ScheduleContext } from "./context.js";
import { compileCron, nextAfter } from "./cron.js";
import { planFires } from "./plan.js";
import type { ScheduleRow } from "./store.js";

const isActive = (s: RunStatus | null) => s !== null && !isTerminal(s);
const iso = (ms: number) => new Date(ms).toISOString();

export class Firing {
  constructor(private readonly c: ScheduleContext) {}

  /** Fires what is due, submits what waits, and sets the schedule's timer. Safe to run at any time, any number of times. */
  async tick(id: string): Promise<void> {
    if (!this.c.store.get(id)) return this.c.timers.clear(timerKey(id));
    await this.refreshLast(id);
    const now = this.c.clock();
    // The timer moves on with the decision, so a stop while submitting leaves it due for the retry, not stuck in the past.
    this.c.storage.transactionSync(() => {
      const row = this.c.store.get(id);
      if (row) this.decide(row, now);
      this.retime(id);
    });
    const submitted = await this.drain(id);
    this.retime(id, submitted ? null : now + RETRY_MS);
  }

  /** Re-reads the status of the schedule's last run from the run itself, while it may still be going. */
  async refreshLast(id: string): Promise<void> {
    const row = this.c.store.get(id);
    const p = this.c.agent.profile();
    if (!row?.last_run_id || !isActive(row.last_status) || !p) return;
    const runId = row.last_run_id;
    const status = this.c.agent.runStatus(runId);
    const current = this.c.store.get(id);
    if (current && current.last_run_id === runId && current.last_status !== status) this.c.store.update(id, { last_status: status });
  }

  /** Sets the timer to the earliest of: the next slot, a re-check while the last run goes on, a retry. */
  retime(id: string, retryAt: number | null = null): void {
    const row = this.c.store.get(id);
    if (!row) return this.c.timers.clear(timerKey(id));
    const now = this.c.clock();
    const candidates = [retryAt];
    if (row.enabled) candidates.push(row.next_run_at);
    if (row.pending_slot !== null || isActive(row.last_status)) candidates.push(now + WATCH_MS);
    if (this.c.store.nextFire(id) !== null) candidates.push(now + RETRY_MS);
    const due = candidates.filter((t): t is number => t !== null);
    if (due.length) this.c.timers.set(timerKey(id), TIMER_KIND, Math.min(...due));
    else this.c.timers.clear(timerKey(id));
  }

  /** The run of a schedule ended (or may have): look again soon. */
  runSettled(runId: string): boolean {
    const ids = this.c.store.byLastRun(runId);
    for (const id of ids) this.c.timers.set(timerKey(id), TIMER_KIND, this.c.clock());
    return ids.length > 0;
  }

  /** Runs inside a transaction: what this tick does with the due slots and a waiting one. */
  private decide(row: ScheduleRow, now: number): void {
    const events: ScheduleEvent[] = [];
    const at = iso(now);
    let active = isActive(row.last_status);
    let pending = row.pending_slot;
    const fire: number[] = [];
    if (pending !== null && !active) {
      fire.push(pending);
      pending = null;
      active = true;
    }
    let skipped = 0;
    const changes: Partial<ScheduleRow> = {};
    if (row.enabled) {
      const plan = planFires({ cron: compileCron(row.cron, row.timezone), cursor: row.cursor, now, misfire: row.misfire });
      // With nothing due the cursor may stay behind: no slot lies between it and now.
      if (plan.fire.length || plan.missed) Object.assign(changes, { cursor: plan.cursor, next_run_at: plan.next, misfires: row.misfires + plan.missed });
      if (plan.missedRange) {
        events.push({ type: "misfired", at, policy: row.misfire, missed: plan.missed, first: iso(plan.missedRange[0]), last: iso(plan.missedRange[1]) });
      }
      // Catch-up slots are one decision: the overlap policy weighs them against the run before, not each other.
      if (plan.fire.length && active && row.overlap !== "allow") {
        let skip = plan.fire;
        if (row.overlap === "queue" && pending === null) {
          pending = plan.fire[plan.fire.length - 1]!;
          skip = plan.fire.slice(0, -1);
          events.push({ type: "queued", at, slot: iso(pending), previous_run_id: row.last_run_id });
        }
        for (const s of skip) events.push({ type: "skipped", at, slot: iso(s), previous_run_id: row.last_run_id, reason: "overlap" });
        skipped = skip.length;
      } else {
        fire.push(...plan.fire);
      }
    }
    if (changes.cursor === undefined && fire.length === 0 && pending === row.pending_slot) return;
    for (const s of fire) this.c.store.addFire(row.id, s);
    for (const e of events) this.c.store.addEvent(row.id, e);
    this.c.store.update(row.id, { ...changes, pending_slot: pending, fires: row.fires + fire.length, skips: row.skips + skipped });
  }

  /** Submits every decided slot of the schedule, oldest first; false when one could not be, to retry. */
  private async drain(id: string): Promise<boolean> {
    for (;;) {
      const slot = this.c.store.nextFire(id);
      const row = this.c.store.get(id);
      if (slot === null || !row) return true;
      const scheduledFor = iso(slot);
      let submitted;
      try {
        submitted = await this.c.agent.submit(JSON.parse(row.run) as JobSpec, { idempotency_key: `${id}:${scheduledFor}`, schedule_id: id, scheduled_for: scheduledFor });
      } catch (err) {
        console.error("a scheduled run could not be submitted; retrying", err);
        return false;
      }
      this.c.storage.transactionSync(() => {
        this.c.store.removeFire(id, slot);
        const current = this.c.store.get(id);
        if (!submitted || !current) return;
        const { run } = submitted;
        // A repeated submit after a crash returns the run already made; it is recorded once.
        if (!submitted.created && current.last_run_id === run.id) return;
        this.c.store.addEvent(id, { type: "fired", at: iso(this.c.clock()), slot: scheduledFor, run_id: run.id });
        this.c.store.update(id, { last_run_id: run.id, last_run_at: run.created_at, last_status: run.status });
      });
      if (!submitted) return true;
    }
  }
}

/** The next slot from the later of the cursor and now, for a schedule whose expression or state changed. */
export function nextSlot(row: Pick<ScheduleRow, "cron" | "timezone" | "cursor">, now: number): number | null {
  return nextAfter(compileCron(row.cron, row.timezone), Math.max(row.cursor, now));
}
