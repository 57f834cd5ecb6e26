/**
 * Every timer an agent owns (lease checks, deadlines, retries, queue timeouts, outbox flushes,
 * retention, schedule fires) is a row here, and the object's one alarm is set to the earliest.
 * Alarms are at-least-once and may come late or early, so firing is driven by the rows that are
 * due, never by the alarm itself, and each handler must be safe to run twice.
 *
 * Each kind has one handler with a typed payload. A row is removed only after its handler
 * returned (its effect committed), and only if the handler did not move it; a handler that
 * throws is retried with backoff and holds back no other timer. The alarm is re-armed once at
 * the end of every turn that changed a row, so no caller has to remember it.
 */
import type { z } from "zod";

export interface Timer {
  key: string;
  kind: string;
  due_at: number;
  data: string;
  [k: string]: SqlStorageValue;
}

type Handler = (data: unknown, timer: Timer, now: number) => void | Promise<void>;

const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;
const DUE_BATCH = 256;

export class Timers {
  /** The alarm as last set or read; undefined until known. Writing an alarm costs a disk sync. */
  private armed: number | null | undefined;
  private armQueued = false;
  /**
   * The earliest time `set` was given since the last arm, and whether rows may have moved in
   * other ways (a due pass, a wipe): while neither is earlier than the alarm, arming reads nothing.
   */
  private soonest = Infinity;
  private rescan = true;
  private readonly handlers = new Map<string, { schema: z.ZodType; handle: Handler }>();
  /** Failures so far per key, for the backoff of a handler that keeps throwing. */
  private readonly failures = new Map<string, number>();
  /**
   * Rows `ensure` knows are there, by key, with their due time. Until that time the row cannot
   * have fired, so `ensure` reads nothing: an index flush or a retention sweep is ensured with
   * every run decision, and that read was a fifth of a decision's statements. A row lost with
   * a transaction that was rolled back is read afresh once its time has passed.
   */
  private readonly known = new Map<string, number>();

  constructor(private readonly storage: DurableObjectStorage) {}

  on<S extends z.ZodType>(kind: string, schema: S, handle: (data: z.infer<S>, timer: Timer, now: number) => void | Promise<void>): void {
    this.handlers.set(kind, { schema, handle: handle as Handler });
  }

  /** The alarm has just gone off, so none is set now. */
  fired(): void {
    this.armed = null;
    this.rescan = true;
  }

  /** Storage was wiped (and with it, perhaps, the alarm) or a transaction rolled back: read both afresh next time. */
  forget(): void {
    this.armed = undefined;
    this.rescan = true;
    this.known.clear();
  }

  set(key: string, kind: string, dueAt: number, data: unknown = {}): void {
    this.setAll([{ key, kind, dueAt, data }]);
  }

  /** Sets several timers in one statement (a start's lease and deadline). */
  setAll(timers: readonly { key: string; kind: string; dueAt: number; data?: unknown }[]): void {
    if (!timers.length) return;
    this.storage.sql.exec(
      `INSERT INTO timers (key, kind, due_at, data) VALUES ${timers.map(() => "(?, ?, ?, ?)").join(", ")} ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at, data = excluded.data`,
      ...timers.flatMap((t) => [t.key, t.kind, t.dueAt, JSON.stringify(t.data ?? {})]),
    );
    for (const t of timers) {
      this.known.delete(t.key);
      if (t.dueAt < this.soonest) this.soonest = t.dueAt;
    }
    this.armSoon();
  }

  /** Sets the timer unless a row for `key` is already there (whatever its time). */
  ensure(key: string, kind: string, dueAt: number, data: unknown = {}): void {
    const due = this.known.get(key);
    if (due !== undefined && Date.now() < due) return;
    const row = this.get(key);
    if (!row) this.set(key, kind, dueAt, data);
    this.known.set(key, row ? row.due_at : dueAt);
  }

  /** Removes the timers of these keys, in one statement. */
  clear(...keys: string[]): void {
    if (!keys.length) return;
    for (const key of keys) this.known.delete(key);
    this.storage.sql.exec(`DELETE FROM timers WHERE key IN (${keys.map(() => "?").join(", ")})`, ...keys);
  }

  get(key: string): Timer | null {
    return this.storage.sql.exec<Timer>("SELECT key, kind, due_at, data FROM timers WHERE key = ?", key).toArray()[0] ?? null;
  }

  /** The rows due by `now`, earliest first. */
  due(now: number, limit = DUE_BATCH): Timer[] {
    return this.storage.sql.exec<Timer>("SELECT key, kind, due_at, data FROM timers WHERE due_at <= ? ORDER BY due_at LIMIT ?", now, limit).toArray();
  }

  /** Runs every due timer's handler, each on its own: one that throws is retried later and stops no other. */
  async runDue(now: number): Promise<void> {
    for (const t of this.due(now)) {
      const h = this.handlers.get(t.kind);
      if (!h) {
        this.clear(t.key);
        continue;
      }
      const parsed = h.schema.safeParse(JSON.parse(t.data));
      if (!parsed.success) {
        // A row no handler can read will not read better later: it goes, and says so.
        console.error(`timer ${t.key} has a malformed payload and is dropped: ${parsed.error.issues[0]?.message}`);
        this.clear(t.key);
        continue;
      }
      this.known.delete(t.key);
      try {
        await h.handle(parsed.data, t, now);
        this.failures.delete(t.key);
        // Only a row the handler left as it found it is done; one it moved stays for its new time.
        this.storage.sql.exec("DELETE FROM timers WHERE key = ? AND due_at = ? AND data = ?", t.key, t.due_at, t.data);
      } catch (err) {
        const n = (this.failures.get(t.key) ?? 0) + 1;
        this.failures.set(t.key, n);
        const wait = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (n - 1));
        console.error(`timer ${t.key} failed (try ${n}); retrying in ${wait} ms:`, err);
        this.storage.sql.exec("UPDATE timers SET due_at = ? WHERE key = ? AND due_at = ?", now + wait, t.key, t.due_at);
      }
    }
    this.rescan = true;
    this.armSoon();
  }

  /** Arms the alarm at the end of this turn, once however many rows changed in it. */
  private armSoon(): void {
    if (this.armQueued) return;
    this.armQueued = true;
    queueMicrotask(() => {
      this.armQueued = false;
      this.arm().catch((err) => console.error("could not set the alarm", err));
    });
  }

  /**
   * Makes sure the alarm goes off by the earliest row. It is only ever moved earlier: an alarm
   * left from a cleared row finds nothing due and arms the next, which is cheaper than moving
   * the alarm (a disk sync) every time a lease is granted or released.
   */
  async arm(): Promise<void> {
    // Every row set since the last arm is due no earlier than the alarm already set: nothing to read.
    const covered = !this.rescan && typeof this.armed === "number" && this.soonest >= this.armed;
    this.soonest = Infinity;
    if (covered) return;
    this.rescan = false;
    const next = this.storage.sql.exec<{ due_at: number }>("SELECT due_at FROM timers ORDER BY due_at LIMIT 1").toArray()[0];
    if (!next) return;
    if (this.armed === undefined) this.armed = await this.storage.getAlarm();
    if (this.armed !== null && this.armed <= next.due_at) return;
    this.armed = next.due_at;
    await this.storage.setAlarm(next.due_at);
  }
}
