/**
 * Live input for a running job's stdin: each delivery numbered per run and kept until the host
 * says it wrote it, then sent again after every reconnect, so the process reads every byte once,
 * in order. A delivery with `eof` closes the pipe; nothing is taken after it.
 */
import { LIMITS } from "../protocol/limits.js";
import type { RunToHost } from "../protocol/stream.js";
import { toBase64 } from "../protocol/base64.js";

export type InputAnswer = { state: "delivered" | "queued"; seq: number } | { state: "rejected"; reason: string };

interface Row {
  seq: number;
  data: ArrayBuffer;
  eof: number;
  [k: string]: SqlStorageValue;
}

export class LiveInput {
  private readonly waiters = new Map<number, () => void>();
  /** The highest delivery the host acknowledged, ahead of its mark on disk. */
  private ackedTo = 0;

  constructor(private readonly sql: SqlStorage) {}

  /** Takes a delivery in, or says why not. Call inside a transaction. */
  offer(data: Uint8Array, eof: boolean): { seq: number } | { reason: string } {
    const head = this.sql.exec<{ last: number | null; closed: number | null; waiting: number | null }>(
      "SELECT MAX(seq) AS last, MAX(eof) AS closed, SUM(CASE WHEN delivered = 0 AND seq > ? THEN LENGTH(data) ELSE 0 END) AS waiting FROM input",
      this.ackedTo,
    ).one();
    if (head.closed) return { reason: "the run's stdin is closed (eof was sent)" };
    if ((head.waiting ?? 0) + data.byteLength > LIMITS.liveInputWaitingBytes) {
      return { reason: `more than ${LIMITS.liveInputWaitingBytes} bytes of input wait undelivered; send again once the job has read some` };
    }
    const seq = (head.last ?? 0) + 1;
    this.sql.exec("INSERT INTO input (seq, data, eof) VALUES (?, ?, ?)", seq, data, eof ? 1 : 0);
    return { seq };
  }

  /** Sends every delivery the host has not acknowledged, in order. */
  sendPending(send: (msg: RunToHost) => void): void {
    for (const r of this.sql.exec<Row>("SELECT seq, data, eof FROM input WHERE delivered = 0 AND seq > ? ORDER BY seq", this.ackedTo).toArray()) {
      send({ type: "input", seq: r.seq, data: toBase64(new Uint8Array(r.data)), eof: r.eof === 1 });
    }
  }

  /**
   * The host wrote everything up to `seq`. The caller waiting on it hears first and the mark is
   * written a turn later: a write pending when the answer leaves would hold the answer until it
   * is on disk, and a mark lost with the object only means a resend the host drops by its seq.
   */
  acked(seq: number): void {
    // Never past what was sent: an acknowledgement ahead of it must not swallow later input.
    seq = Math.min(seq, this.sql.exec<{ last: number | null }>("SELECT MAX(seq) AS last FROM input").one().last ?? 0);
    if (seq <= this.ackedTo) return;
    this.ackedTo = seq;
    for (const [s, wake] of this.waiters) if (s <= seq) (wake(), this.waiters.delete(s));
    setTimeout(() => this.sql.exec("UPDATE input SET delivered = 1 WHERE seq <= ? AND delivered = 0", seq), 0);
  }

  /** Resolves true once the host acknowledged `seq`, false after `ms`. */
  delivered(seq: number, ms: number): Promise<boolean> {
    if (seq <= this.ackedTo || this.sql.exec("SELECT 1 FROM input WHERE seq = ? AND delivered = 1", seq).toArray().length) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => (this.waiters.delete(seq), resolve(false)), ms);
      this.waiters.set(seq, () => (clearTimeout(timer), resolve(true)));
    });
  }

  waiting(): { seq: number; bytes: number; eof: boolean }[] {
    return this.sql
      .exec<{ seq: number; bytes: number; eof: number }>("SELECT seq, LENGTH(data) AS bytes, eof FROM input WHERE delivered = 0 AND seq > ? ORDER BY seq", this.ackedTo)
      .toArray()
      .map((r) => ({ seq: r.seq, bytes: r.bytes, eof: r.eof === 1 }));
  }
}
