/**
 * Applies a run's transitions: the pure step decides, this writes the run, its outbox row and its
 * timers in one transaction, then carries out what the decision asks of hosts. A run's timers
 * follow from its status, so no path can leave a queued run without its queue timeout or a
 * running one without its lease check and deadline.
 */
import type { AgentConfig } from "../../protocol/agent-config.js";
import { isTerminal } from "../../protocol/run.js";
import type { RunChange } from "../../protocol/run-change.js";
import type { Hosts } from "../hosts.js";
import type { RunRow, RunStore } from "../run-store.js";
import type { Timers } from "../timers.js";
import { step } from "./machine.js";
import type { LifeEvent, RunRecord, Transition } from "./types.js";

/** The host kills at the timeout and reports; the edge steps in only if no report came by then. */
export const DEADLINE_GRACE_MS = 30_000;
/**
 * A lease is lost this long after the lease TTL, not at it: a host that hears nothing from the
 * edge stops its own jobs within 3/4 of the TTL (tether-agent's fence), so with this margin the
 * old attempt is dead well before the run is given to another host, even at the smallest TTL.
 */
export const LEASE_MARGIN_MS = 1_000;

export const TimerKey = {
  lease: (id: string) => `lease:${id}`,
  deadline: (id: string) => `deadline:${id}`,
  retry: (id: string) => `retry:${id}`,
  queueTimeout: (id: string) => `queue_timeout:${id}`,
  approval: (id: string) => `approval:${id}`,
};

export interface LifecycleDeps {
  storage: DurableObjectStorage;
  store: RunStore;
  timers: Timers;
  hosts: Hosts;
  config(): AgentConfig;
  /** A run reached its final status, or an object needs its changes: called after the commit. */
  afterCommit(run: RunRecord, row: RunRow, t: Extract<Transition, { ok: true }>): void;
}

export class Lifecycle {
  constructor(private readonly d: LifecycleDeps) {}

  /** Decides and commits one event of a run; a refusal changes nothing and says why. */
  apply(id: string, ev: LifeEvent, now = Date.now(), output?: RunChange["output"]): Transition {
    const row = this.d.store.row(id);
    if (!row) return { ok: false, why: `no run ${id}` };
    return this.applyTo(row, ev, now, output);
  }

  /** As `apply`, to a row the caller read in this same turn: reading it again was a job's costliest read. */
  applyTo(row: RunRow, ev: LifeEvent, now = Date.now(), output?: RunChange["output"]): Transition {
    const before = JSON.parse(row.body) as RunRecord;
    const t = step(before, ev, now);
    if (!t.ok || t.run === before) return t;
    // An end that carries the process's start came on the control socket: its attempt made no object.
    this.commit(row, t, now, output, ev.type === "ended" && ev.started !== undefined);
    return t;
  }

  /**
   * Writes a decided transition; the caller may already be inside a transaction (dispatch).
   * `output`: what the ended attempt sent with its end, carried to the run's log by the change.
   */
  commit(row: RunRow, t: Extract<Transition, { ok: true }>, now: number, output?: RunChange["output"], unstreamed = false): void {
    const requeue = t.effects.find((e) => e.type === "requeue");
    const readyAt = requeue ? now + requeue.delay_ms : row.ready_at;
    const cfg = this.d.config();
    this.d.storage.transactionSync(() => {
      this.d.store.update(row, t.run, t.events, now, cfg.max_output_bytes, readyAt, output, unstreamed);
      if (t.run.status === "running" && row.status !== "running") {
        // A start of a start_rate key: the key's next run held back may go when this one leaves the window.
        if (typeof row.skey === "string") this.d.timers.set(`start_rate:${row.id}`, "start_rate", this.d.store.noteStart(row.skey, Number(row.swindow), now), {});
      }
      this.retime(t.run, readyAt, now, cfg);
    });
    for (const e of t.effects) {
      if (e.type === "stop") this.d.hosts.sendTo(e.host_id, { type: e.how === "cancel" ? "cancel" : "revoke", run_id: row.id, attempt: e.attempt, reason: e.reason });
    }
    this.d.afterCommit(t.run, row, t);
  }

  /** Sets the run's timers to what its status needs and clears the rest. */
  private retime(run: RunRecord, readyAt: number | null, now: number, cfg: AgentConfig): void {
    const { timers } = this.d;
    const id = run.id;
    // The timers this status has no use for go in one statement.
    const gone: string[] = [];
    if (run.status === "awaiting_approval") timers.set(TimerKey.approval(id), "approval", Date.parse(run.approval!.expires_at), {});
    else gone.push(TimerKey.approval(id));
    if (run.status === "running") {
      timers.clear(...gone, TimerKey.retry(id), TimerKey.queueTimeout(id));
      timers.setAll([
        { key: TimerKey.lease(id), kind: "lease", dueAt: now + cfg.lease_ttl_ms, data: { attempt: run.attempt } },
        { key: TimerKey.deadline(id), kind: "deadline", dueAt: now + run.timeout_ms + DEADLINE_GRACE_MS, data: { attempt: run.attempt } },
      ]);
      return;
    }
    gone.push(TimerKey.lease(id), TimerKey.deadline(id));
    if (isTerminal(run.status)) {
      gone.push(TimerKey.retry(id), TimerKey.queueTimeout(id));
    } else if (readyAt !== null && readyAt > now) {
      // A retry waiting out its delay: the alarm wakes dispatch when it may go.
      timers.set(TimerKey.retry(id), "retry", readyAt, {});
    }
    timers.clear(...gone);
  }
}
