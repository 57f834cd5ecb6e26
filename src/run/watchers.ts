/**
 * Live watchers of one run. Each watcher is a cursor into the run's log, read as its client
 * pulls: the same loop replays history and forwards what arrives, so nothing is repeated or
 * skipped. A slow client holds at most WATCHER_BYTES queued for it, and a client that goes away
 * frees all of it at once.
 */
import { LIMITS } from "../protocol/limits.js";
import { KIND_OUTPUT } from "./schema.js";
import { sseEvent, type LogRow } from "./sse.js";

interface Watcher {
  cursor: number;
  output: boolean;
  controller: ReadableStreamDefaultController<Uint8Array> | null;
  /** Set while the watcher has caught up and waits for more. */
  wake: (() => void) | null;
}

/** Bytes queued for one watcher before its reads stop: a stalled client costs the object this much. */
export const WATCHER_BYTES = 1024 * 1024;
const PAGE = 32;
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

  /** A stream for one more watcher, or null when the run has as many as it may. */
  open(after: number, output: boolean): ReadableStream<Uint8Array> | null {
    if (this.all.size >= LIMITS.watchersPerRun) return null;
    const w: Watcher = { cursor: after, output, controller: null, wake: null };
    this.all.add(w);
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          w.controller = controller;
        },
        pull: (controller) => this.pull(w, controller),
        cancel: () => this.drop(w),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: WATCHER_BYTES }),
    );
  }

  /** Something was appended to the log: every waiting watcher reads on. */
  notify(): void {
    for (const w of this.all) this.wakeUp(w);
  }

  keepAlive(): void {
    for (const w of this.all) {
      if (w.wake && w.controller) {
        try {
          w.controller.enqueue(KEEPALIVE);
        } catch {
          this.drop(w);
        }
      }
    }
  }

  /** Enqueues the next page, or waits until there is one; ends the stream after the run's last row. */
  private async pull(w: Watcher, controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      if (!this.all.has(w)) return;
      // A watcher that asked for no output does not make us read its bytes.
      const rows = this.sql
        .exec<LogRow>(
          "SELECT id, kind, attempt, stream, CASE WHEN kind = ? AND ? = 0 THEN NULL ELSE data END AS data FROM log WHERE id > ? ORDER BY id LIMIT ?",
          KIND_OUTPUT, w.output ? 1 : 0, w.cursor, PAGE,
        )
        .toArray();
      let sent = false;
      for (const row of rows) {
        w.cursor = row.id;
        if (row.kind === KIND_OUTPUT && !w.output) continue;
        controller.enqueue(sseEvent(row));
        sent = true;
        if ((controller.desiredSize ?? 0) <= 0) return;
      }
      if (sent) return;
      if (rows.length) continue;
      if (this.finished()) {
        this.all.delete(w);
        controller.close();
        return;
      }
      await new Promise<void>((resolve) => (w.wake = resolve));
    }
  }

  private wakeUp(w: Watcher): void {
    const wake = w.wake;
    w.wake = null;
    wake?.();
  }

  private drop(w: Watcher): void {
    this.all.delete(w);
    w.controller = null;
    this.wakeUp(w);
  }
}
