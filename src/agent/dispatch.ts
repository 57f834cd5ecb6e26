/**
 * Hands queued runs to hosts with free slots, in submit order, the moment either appears. Each
 * assignment is one transaction (the run's new state, its lease, timers and outbox row) and the
 * job's token is signed after it; the host hears of the job only once the decision is durable.
 */
import { signingKeys } from "../auth/keys.js";
import { signToken } from "../auth/tokens.js";
import type { Env } from "../env.js";
import { hostOf, setHost, type Hosts } from "./hosts.js";
import { step } from "./lifecycle/machine.js";
import type { Lifecycle } from "./lifecycle/apply.js";
import type { RunRecord } from "./lifecycle/types.js";
import type { Outbox } from "./outbox.js";
import type { QueuedJob } from "./run-plan.js";
import type { RunStore } from "./run-store.js";
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

  private async pass(): Promise<void> {
    const p = this.profile();
    if (!p) return;
    for (const ws of this.hosts.withCredit()) {
      for (;;) {
        // Re-read each time: a credit message may have landed while a token was being signed.
        const host = hostOf(ws);
        if (!host || host.credit <= 0 || host.draining) break;
        const now = Date.now();
        const row = this.store.nextQueued(now, host.runners);
        if (!row) break;
        const attempt = row.attempt + 1;
        const t = step(JSON.parse(row.body) as RunRecord, { type: "assign", attempt, host_id: host.host_id }, now);
        if (!t.ok) throw new Error(`a queued run refused its assignment: ${t.why}`);
        this.outbox.settleConfirmations();
        this.lifecycle.commit(row, t, now);
        // Its object pulls the change when the host opens the output stream; this is the fallback.
        this.outbox.backstop(now);
        setHost(ws, { ...host, credit: host.credit - 1 });
        const job = JSON.parse(row.job) as QueuedJob;
        const job_token = await signToken(
          signingKeys(this.env),
          { kind: "job", ws: p.workspace, agent: p.name, run: row.id, attempt },
          Math.ceil(job.timeout_ms / 1000) + JOB_TOKEN_GRACE_S,
        );
        this.hosts.send(ws, { type: "assign", run_id: row.id, attempt, job_token, job });
      }
    }
  }
}
