import { workspaceStub } from "../env.js";
import { RETRY_MS, SYNC_TIMER, TIMER_KIND, type ScheduleContext } from "./context.js";
import { toView } from "./store.js";
import type { DirectoryItem } from "./workspace-do.js";

const BATCH = 100;

/**
 * Sends the agent's schedule changes to its workspace's directory. Each change is written to
 * `schedule_sync` in the same transaction as the change, and stays there until the directory
 * has it, so the listing converges even when a send fails. One send at a time, newest state.
 */
export class DirectorySync {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly c: ScheduleContext) {}

  flush(): Promise<void> {
    this.again = true;
    this.running ??= this.loop().finally(() => (this.running = null));
    return this.running;
  }

  /** The agent is being deleted: the directory forgets its schedules. */
  async forgetAgent(): Promise<void> {
    const p = this.c.agent.profile();
    if (!p || !this.c.store.hasAny()) return;
    await this.running;
    await workspaceStub(this.c.env, p.workspace).removeAgent(p.name, this.c.clock());
  }

  private async loop(): Promise<void> {
    while (this.again) {
      this.again = false;
      const p = this.c.agent.profile();
      if (!p) return;
      for (;;) {
        const pending = this.c.store.unsynced(BATCH);
        if (!pending.length) break;
        const items: DirectoryItem[] = pending.map(({ id, version }) => {
          const row = this.c.store.get(id);
          return row ? { id, version: row.version, schedule: toView(row, p.name) } : { id, version, schedule: null };
        });
        try {
          await workspaceStub(this.c.env, p.workspace).apply(p.name, items);
        } catch (err) {
          console.error("schedule directory update failed; retrying", err);
          this.c.timers.set(SYNC_TIMER, TIMER_KIND, this.c.clock() + RETRY_MS);
          await this.c.timers.arm();
          return;
        }
        for (const it of items) this.c.store.synced(it.id, it.version);
      }
    }
  }
}
