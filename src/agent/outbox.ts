/**
 * Delivers each run's changes to its run's object. The changes were written in the same
 * transaction as the decisions; they are removed only once the object confirms them, so a
 * failed delivery, or a restart in between, only delays them. The object applies a version once.
 */
import { runStub, type Env } from "../env.js";
import type { RunStore } from "./run-store.js";
import type { Timers } from "./timers.js";

export const OUTBOX_TIMER = "outbox";
/** Changes a run's object did not pull itself are pushed after this long at the latest. */
const BACKSTOP_MS = 2_000;
const RETRY_MS = 1_000;
const BATCH = 64;

export class Outbox {
  /** Confirmations not yet written: they ride along with the next write instead of costing one of their own. */
  private readonly confirmed = new Map<string, number>();

  constructor(
    private readonly env: Env,
    private readonly store: RunStore,
    private readonly timers: Timers,
    private readonly workspace: () => string | null,
  ) {}

  /** Makes sure waiting changes are pushed by the backstop time, without moving an earlier flush later. */
  backstop(now: number): void {
    const t = this.timers.get(OUTBOX_TIMER);
    if (!t || t.due_at > now + BACKSTOP_MS) this.timers.set(OUTBOX_TIMER, OUTBOX_TIMER, now + BACKSTOP_MS);
  }

  /** Writes the confirmations heard since the last write; call inside a transaction that writes anyway. */
  settleConfirmations(): void {
    for (const [id, v] of this.confirmed) this.store.confirmed(id, v);
    this.confirmed.clear();
  }

  noteConfirmed(id: string, version: number): void {
    if ((this.confirmed.get(id) ?? 0) < version) this.confirmed.set(id, version);
  }

  /** Pushes one run's changes now; a failure leaves them for the backstop. */
  async push(id: string): Promise<void> {
    const ws = this.workspace();
    const changes = this.store.pendingChanges(id);
    if (!ws || !changes.length) return;
    const applied = await runStub(this.env, ws, id).apply(changes);
    this.noteConfirmed(id, applied);
  }

  /** The timer's work: every run with an object and changes waiting, a batch at a time. */
  async flush(now: number): Promise<void> {
    this.settleConfirmations();
    const ids = this.store.runsWithPendingChanges(BATCH);
    const results = await Promise.allSettled(ids.map((id) => this.push(id)));
    this.settleConfirmations();
    const failed = results.some((r) => r.status === "rejected");
    if (failed || ids.length === BATCH) this.timers.set(OUTBOX_TIMER, OUTBOX_TIMER, now + (failed ? RETRY_MS : 0));
  }
}
