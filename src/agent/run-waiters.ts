/**
 * Clients waiting for a run to end (GET /v1/runs/:run/wait), held by the run's agent in memory:
 * a wait costs no write and no object of the run's own, where a watch makes the run's object.
 * A wait lasts at most its timeout and then answers the run as it is, and the client asks
 * again; an object that restarts drops its calls, and their clients ask again too.
 */
import { LIMITS } from "../protocol/limits.js";
import type { Run } from "../protocol/run.js";

export type Waited = { run: Run } | { full: true };

export class RunWaiters {
  private readonly waiting = new Map<string, Set<(run: Run) => void>>();
  private count = 0;

  constructor(private readonly caps: { perRun: number; perAgent: number } = { perRun: LIMITS.waitersPerRun, perAgent: LIMITS.waitersPerAgent }) {}

  /** Resolves when `settle` is called for the run, or with `now()` once `timeoutMs` has passed. */
  wait(id: string, timeoutMs: number, now: () => Run): Promise<Waited> {
    const set = this.waiting.get(id) ?? new Set();
    if (set.size >= this.caps.perRun || this.count >= this.caps.perAgent) return Promise.resolve({ full: true });
    this.waiting.set(id, set);
    this.count++;
    return new Promise<Waited>((resolve) => {
      const done = (run: Run) => {
        clearTimeout(timer);
        set.delete(done);
        this.count--;
        if (!set.size && this.waiting.get(id) === set) this.waiting.delete(id);
        resolve({ run });
      };
      const timer = setTimeout(() => done(now()), timeoutMs);
      set.add(done);
    });
  }

  /** The run ended: every client waiting for it hears it. */
  settle(id: string, run: Run): void {
    for (const done of [...(this.waiting.get(id) ?? [])]) done(run);
  }
}
