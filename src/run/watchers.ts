/**
 * Live watchers of one run. Each watcher is a cursor into the run's log: the same loop
 * replays history and forwards what arrives, so nothing is repeated or skipped, and a slow
 * reader holds back only itself (it waits on its stream's backpressure, not in memory).
 */
import { KIND_OUTPUT } from "./schema.js";
import { sseEvent, type LogRow } from "./sse.js";

interface Watcher {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  cursor: number;
  output: boolean;
  pumping: boolean;
  dirty: boolean;
}

const PAGE = 128;
const KEEPALIVE = new TextEncoder().encode(": keep-alive\n\n");

export class Watchers {
  private readonly all = new Set<Watcher>();

  constructor(
    private readonly sql: SqlStorage,
    /** True once the run is terminal: a watcher that has sent everything then ends. */
    private readonly finished: () => boolean,
  ) {}

  get size(): number {
    return this.all.size;
  }

  open(after: number, output: boolean): ReadableStream<Uint8Array> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(undefined, { highWaterMark: 64 });
    const w: Watcher = { writer: writable.getWriter(), cursor: after, output, pumping: false, dirty: false };
    this.all.add(w);
    void this.pump(w);
    return readable;
  }

  /** Something was appended to the log: every watcher catches up. */
  notify(): void {
    for (const w of this.all) void this.pump(w);
  }

  keepAlive(): void {
    for (const w of this.all) if (!w.pumping) w.writer.write(KEEPALIVE).catch(() => this.drop(w));
  }

  private async pump(w: Watcher): Promise<void> {
    if (w.pumping) {
      w.dirty = true;
      return;
    }
    w.pumping = true;
    try {
      do {
        w.dirty = false;
        // A watcher that asked for no output does not make us read its bytes.
        const rows = this.sql
          .exec<LogRow>(
            "SELECT id, kind, attempt, stream, CASE WHEN kind = ? AND ? = 0 THEN NULL ELSE data END AS data FROM log WHERE id > ? ORDER BY id LIMIT ?",
            KIND_OUTPUT, w.output ? 1 : 0, w.cursor, PAGE,
          )
          .toArray();
        for (const row of rows) {
          w.cursor = row.id;
          if (row.kind === KIND_OUTPUT && !w.output) continue;
          await w.writer.ready;
          void w.writer.write(sseEvent(row)).catch(() => this.drop(w));
        }
        if (rows.length === PAGE) w.dirty = true;
      } while (w.dirty && this.all.has(w));
      if (this.finished() && this.all.has(w)) {
        this.all.delete(w);
        await w.writer.close();
      }
    } catch {
      this.drop(w);
    } finally {
      w.pumping = false;
    }
  }

  private drop(w: Watcher): void {
    if (!this.all.delete(w)) return;
    w.writer.abort().catch(() => {});
  }
}
