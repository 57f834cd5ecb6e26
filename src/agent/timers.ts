/**
 * Every timer an agent owns (lease deadlines, retries, schedule fires) is a row here, and the
 * object's one alarm is set to the earliest. Alarms are at-least-once and may come late or
 * early, so firing is driven by the rows that are due, never by the alarm itself, and each
 * handler must be safe to run twice.
 */
export interface Timer {
  key: string;
  kind: string;
  due_at: number;
  data: string;
  [k: string]: SqlStorageValue;
}

export class Timers {
  /** The alarm as last set or read; undefined until known. Writing an alarm costs a disk sync. */
  private armed: number | null | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** The alarm has just gone off, so none is set now. */
  fired(): void {
    this.armed = null;
  }

  /** Storage was wiped (and with it, perhaps, the alarm): read it afresh next time. */
  forget(): void {
    this.armed = undefined;
  }

  set(key: string, kind: string, dueAt: number, data: unknown = {}): void {
    this.storage.sql.exec(
      "INSERT INTO timers (key, kind, due_at, data) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at, data = excluded.data",
      key, kind, dueAt, JSON.stringify(data),
    );
  }

  clear(key: string): void {
    this.storage.sql.exec("DELETE FROM timers WHERE key = ?", key);
  }

  get(key: string): Timer | null {
    return this.storage.sql.exec<Timer>("SELECT key, kind, due_at, data FROM timers WHERE key = ?", key).toArray()[0] ?? null;
  }

  /** The rows due by `now`, earliest first. */
  due(now: number, limit = 256): Timer[] {
    return this.storage.sql.exec<Timer>("SELECT key, kind, due_at, data FROM timers WHERE due_at <= ? ORDER BY due_at LIMIT ?", now, limit).toArray();
  }

  /**
   * Makes sure the alarm goes off by the earliest row. It is only ever moved earlier: an alarm
   * left from a cleared row finds nothing due and arms the next, which is cheaper than moving
   * the alarm (a disk sync) every time a lease is granted or released.
   */
  async arm(): Promise<void> {
    const next = this.storage.sql.exec<{ due_at: number }>("SELECT due_at FROM timers ORDER BY due_at LIMIT 1").toArray()[0];
    if (!next) return;
    if (this.armed === undefined) this.armed = await this.storage.getAlarm();
    if (this.armed !== null && this.armed <= next.due_at) return;
    this.armed = next.due_at;
    await this.storage.setAlarm(next.due_at);
  }
}
