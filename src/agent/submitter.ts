/**
 * Making runs: a submit checked against the job's own rules, its secrets and the agent's queue
 * (admission.ts), then inserted with its timers in one transaction; a job's children with their
 * limits; and cancelling a run with the children it did not detach.
 */
import { newRunId } from "../protocol/ids.js";
import { LIMITS } from "../protocol/limits.js";
import { isTerminal, type JobSpec } from "../protocol/run.js";
import type { AgentConfig } from "../protocol/agent-config.js";
import { admit } from "./admission.js";
import type { Hosts } from "./hosts.js";
import { TimerKey, type Lifecycle } from "./lifecycle/apply.js";
import type { SubmitRate } from "./rate-limit.js";
import type { Retention } from "./retention.js";
import { planRun, type Refused, type SubmitOptions, type Submitted } from "./run-plan.js";
import { jobProblem } from "./runner.js";
import { publicRun, type RunStore } from "./run-store.js";
import type { Profile } from "./schema.js";
import type { AgentSecrets } from "./secrets.js";
import type { Timers } from "./timers.js";

export interface SubmitterDeps {
  sql: SqlStorage;
  storage: DurableObjectStorage;
  store: RunStore;
  hosts: Hosts;
  rate: SubmitRate;
  secrets: AgentSecrets;
  timers: Timers;
  lifecycle: Lifecycle;
  retention: Retention;
  profile(): Profile | null;
  config(): AgentConfig;
  dispatch(): Promise<void>;
}

export class Submitter {
  constructor(private readonly d: SubmitterDeps) {}

  /** Creates a run and queues it; a host with a free slot gets it at once. Null: no such agent. */
  async submit(job: JobSpec, opts: SubmitOptions = {}): Promise<Submitted | Refused | null> {
    if (!this.d.profile()) return null;
    const placed = this.place(job, opts);
    await this.d.dispatch();
    return answer(this.d.store, placed);
  }

  /**
   * Many submits in one call, each decided as if it came alone and in the order given (a later
   * one sees the runs the earlier ones made), with one dispatch pass and one commit for them all.
   * One refused leaves the others as they are: each answer says what became of its submit.
   * `parentId`: submitted by that run's job, each as submitChild would take it. Null: no such agent.
   */
  async submitMany(items: readonly { job: JobSpec; opts: SubmitOptions }[], parentId: string | null = null): Promise<(Submitted | Refused)[] | null> {
    if (!this.d.profile()) return null;
    const placed = items.map(({ job, opts }) => (parentId === null ? this.place(job, opts) : this.placeChild(parentId, job, opts)));
    await this.d.dispatch();
    // The runs made, as dispatch left them, read in one statement.
    const rows = this.d.store.rows(placed.flatMap((p) => ("made" in p ? [p.made] : [])));
    return placed.map((p) => ("made" in p ? { run: publicRun(JSON.parse(rows.get(p.made)!.body)), created: true } : p));
  }

  /** Decides and writes one submit, leaving dispatch to the caller. */
  private place(job: JobSpec, opts: SubmitOptions): Placed {
    const p = this.d.profile()!;
    const key = opts.idempotency_key;
    const now = Date.now();
    const config = this.d.config();
    if (key !== undefined) {
      const seen = this.d.sql.exec<{ run_id: string }>("SELECT run_id FROM idempotency WHERE key = ? AND created_at >= ?", key, now - config.idempotency_ttl_s * 1000).toArray()[0];
      const run = seen && this.d.store.record(seen.run_id);
      if (run) return { run: publicRun(run), created: false };
    }
    const problem = jobProblem(job);
    if (problem) return { refused: { status: 400, slug: "invalid", detail: `the body is invalid: ${problem}` } };
    const missing = this.d.secrets.missing(job.secrets ?? []);
    if (missing.length) return { refused: { status: 400, slug: "invalid", detail: `the body is invalid: secrets: agent ${p.name} has no secret ${missing.join(", ")} (tether secrets set ${p.name} ${missing[0]})` } };
    const id = newRunId(p.name, now);
    const { queued, record } = planRun(p.name, config, job, opts, id, now);
    const a = admit(this.d.store, this.d.hosts, this.d.rate, config, job, record, now);
    if (a.kind === "existing") return { run: publicRun(a.run), created: false };
    if (a.kind === "refused") {
      const { kind: _k, ...refused } = a;
      return { refused };
    }
    this.d.storage.transactionSync(() => {
      if (key !== undefined) this.d.sql.exec("INSERT OR REPLACE INTO idempotency (key, run_id, created_at) VALUES (?, ?, ?)", key, id, now);
      // What the run waits for, if anything, is its first word.
      this.d.store.insert(record, queued, now, config.max_output_bytes, a.events, { readyAt: a.readyAt, debounce: a.debounce, startRate: job.start_rate ?? null });
      // A debounced run's timer wakes dispatch when it may go, as a retry's does.
      if (a.readyAt > now) this.d.timers.set(TimerKey.retry(id), "retry", a.readyAt, {});
      if (job.queue_timeout_ms !== undefined) this.d.timers.set(TimerKey.queueTimeout(id), "queue_timeout", now + job.queue_timeout_ms, { ms: job.queue_timeout_ms });
      for (const c of a.cancels) this.cancelTree(c.id, c.reason);
      if (a.cancelSelf) this.d.lifecycle.apply(id, { type: "cancel", reason: a.cancelSelf }, now);
      this.d.retention.soon(now);
    });
    this.d.rate.take(a.buckets, now);
    return { made: id };
  }

  /**
   * A run submitted by a running job with its own token: it records its parent, and is refused
   * past the nesting depth (400) or the children a run may have (429), saying which.
   */
  async submitChild(parentId: string, job: JobSpec, opts: SubmitOptions = {}): Promise<Submitted | Refused | null> {
    if (!this.d.profile()) return null;
    const placed = this.placeChild(parentId, job, opts);
    await this.d.dispatch();
    return answer(this.d.store, placed);
  }

  private placeChild(parentId: string, job: JobSpec, opts: SubmitOptions): Placed {
    const parent = this.d.store.record(parentId);
    if (!parent) return { refused: { status: 404, slug: "not-found", detail: `run ${parentId} does not exist` } };
    if (parent.depth + 1 > LIMITS.childDepth) return { refused: { status: 400, slug: "invalid", detail: `runs nest at most ${LIMITS.childDepth} deep; run ${parentId} is at depth ${parent.depth}` } };
    if (this.d.store.childCount(parentId) >= LIMITS.childrenPerRun) {
      return { refused: { status: 429, slug: "too-many-children", detail: `a run may have at most ${LIMITS.childrenPerRun} children; run ${parentId} has that many` } };
    }
    return this.place(job, { ...opts, parent: { id: parentId, depth: parent.depth } });
  }

  /** Cancels a run and, with it, every child not submitted detached, and theirs. */
  cancelTree(id: string, reason: string): void {
    const t = this.d.lifecycle.apply(id, { type: "cancel", reason });
    if (!t.ok) return;
    for (const child of this.d.store.children(id)) {
      if (!child.detached && !isTerminal(child.status)) this.cancelTree(child.id, `its parent ${id} was cancelled`);
    }
  }
}

/** A submit decided: a run it made (read again once dispatch has had its turn), or an answer already. */
type Placed = Submitted | Refused | { made: string };

function answer(store: RunStore, p: Placed): Submitted | Refused {
  return "made" in p ? { run: publicRun(store.record(p.made)!), created: true } : p;
}
