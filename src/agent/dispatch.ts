/**
 * Hands queued runs to hosts with free slots, in submit order, the moment either appears. Each
 * assignment is one transaction (the run's new state, its lease, timers and outbox row) and the
 * job's token is signed after it; the host hears of the job only once the decision is durable.
 */
import { signingKeys } from "../auth/keys.js";
import { signToken } from "../auth/tokens.js";
import type { Env } from "../env.js";
import { hostOf, setHost, type HostInfo, type Hosts } from "./hosts.js";
import { preferredHost } from "./prefer.js";
import { step } from "./lifecycle/machine.js";
import type { Lifecycle } from "./lifecycle/apply.js";
import type { RunRecord } from "./lifecycle/types.js";
import type { Outbox } from "./outbox.js";
import type { QueuedJob } from "./run-plan.js";
import type { RunRow, RunStore } from "./run-store.js";
import type { Profile } from "./schema.js";

/** Job tokens outlive the run's timeout by a day, enough for the job's last reads. */
const JOB_TOKEN_GRACE_S = 24 * 3600;

export class Dispatcher {
  private running = false;
  private again = false;

  constructor(
    private readonly env: Env,
    private readonly hosts: Hosts,
    private readonly store: RunStore,
    private readonly lifecycle: Lifecycle,
    private readonly outbox: Outbox,
    private readonly profile: () => Profile | null,
    /** Opens the named secrets for one assignment. */
    private readonly reveal: (names: readonly string[]) => Promise<Record<string, string>>,
    /** The agent's cap on runs running at once, or null. */
    private readonly maxConcurrent: () => number | null,
  ) {}

  async run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
    } finally {
      this.running = false;
    }
  }

  /**
   * Decides every assignment the free slots allow in one synchronous turn (one durable batch),
   * then signs their tokens together: the host hears of each once the batch is durable, and
   * whatever else the object has to do waits for one signing, not one per assignment.
   */
  private async pass(): Promise<void> {
    const p = this.profile();
    if (!p) return;
    const decided: Decided[] = [];
    const max = this.maxConcurrent();
    hosts: for (const ws of this.hosts.withCredit()) {
      for (;;) {
        const host = hostOf(ws);
        if (!host || host.credit <= 0 || host.draining) break;
        if (max !== null && this.store.runningCount() >= max) break hosts;
        // The queue's one read costs two statements; an empty queue needs neither.
        if (!this.store.anyQueued()) break hosts;
        // An approved run goes only to a host whose owner asks: one with ask = "off" would refuse it again.
        const row = this.store.nextQueued(Date.now(), { runners: host.runners, labels: host.labels, takesApproved: (host.policy?.ask ?? "off") !== "off" });
        if (!row) break;
        const run = JSON.parse(row.body) as RunRecord;
        // Only a run that prefers labels looks at the other hosts.
        const target = Object.keys(run.prefer ?? {}).length ? preferredHost(run, ws, this.hosts.withCredit()) : ws;
        decided.push(this.decide(target, hostOf(target)!, row, run));
      }
    }
    // Read once the pass has taken what it could: what is left waits for the next free slot.
    const more = decided.length > 0 && this.store.anyQueued();
    await Promise.all(decided.map((d) => this.deliver(d, p, more)));
  }

  /** Gives the run to the host: its transaction, and the host's slot taken. */
  private decide(ws: WebSocket, host: HostInfo, row: RunRow, run: RunRecord): Decided {
    const now = Date.now();
    const attempt = row.attempt + 1;
    const t = step(run, { type: "assign", attempt, host_id: host.host_id }, now);
    if (!t.ok) throw new Error(`a queued run refused its assignment: ${t.why}`);
    this.outbox.settleConfirmations();
    // The run's object, if it comes to need one, pulls the change when the host opens the output stream.
    this.lifecycle.commit(row, t, now);
    setHost(ws, { ...host, credit: host.credit - 1 });
    return { ws, row, attempt, approved: t.run.approval?.state === "approved" };
  }

  /** Signs the job's token, opens its secrets and tells the host. */
  private async deliver({ ws, row, attempt, approved }: Decided, p: Profile, more: boolean): Promise<void> {
    const job = JSON.parse(row.job) as QueuedJob;
    const token = signToken(signingKeys(this.env), { kind: "job", ws: p.workspace, agent: p.name, run: row.id, attempt }, Math.ceil(job.timeout_ms / 1000) + JOB_TOKEN_GRACE_S);
    token.catch(() => undefined); // its failure surfaces where it is awaited below, not as an unhandled rejection meanwhile
    let secrets: Record<string, string> | undefined;
    try {
      secrets = job.secrets?.length ? await this.reveal(job.secrets) : undefined;
    } catch (err) {
      // A key changed or removed since the secret was written: the attempt fails and says so, rather than run without it.
      const error = `its secrets could not be opened: ${(err as Error).message}`;
      this.lifecycle.apply(row.id, { type: "ended", attempt, end: { reason: "spawn_failed", exit_code: null, signal: null, error } });
      const back = hostOf(ws);
      if (back) setHost(ws, { ...back, credit: Math.min(back.slots, back.credit + 1) });
      return;
    }
    this.hosts.send(ws, { type: "assign", run_id: row.id, attempt, job_token: await token, job, ...(approved && { approved }), ...(secrets && { secrets }), ...(more && { more_queued: true }) });
  }
}

interface Decided {
  ws: WebSocket;
  row: RunRow;
  attempt: number;
  approved: boolean;
}
