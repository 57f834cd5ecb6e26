/**
 * One attempt's output stream to its run's object. Chunks are numbered from 1; one batch is
 * in flight at a time and whatever arrives meanwhile goes in the next, so batches grow with
 * the output rate. Nothing is forgotten before the edge acknowledges it: after a reconnect the
 * unacknowledged chunks are sent again and the edge stores each once.
 */
import WebSocket from "ws";
import { encodeBatch, type Chunk, type StreamNo } from "../../src/protocol/frames.js";
import { LIMITS } from "../../src/protocol/limits.js";
import { RunToHost, type StreamEnd } from "../../src/protocol/stream.js";
import { Backoff } from "./backoff.js";
import type { Logger } from "./log.js";

const MAX_CHUNK = 256 * 1024;
/** Above this many unacknowledged bytes the process's pipes are paused (backpressure, never loss). */
const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 2 * 1024 * 1024;
const BATCH_PAYLOAD = LIMITS.batchBytes - 64 * 1024;

export interface UplinkEvents {
  cancel(reason: string): void;
  superseded(): void;
  /** True: stop reading the process's output for now; false: read on. */
  pressure(paused: boolean): void;
  ended(): void;
}

export class Uplink {
  private ws: WebSocket | null = null;
  private ready = false;
  private pending: { stream: StreamNo; parts: Buffer[]; bytes: number }[] = [];
  private inflight: Chunk[] = [];
  private unacked = 0;
  private nextSeq = 1;
  private endReport: Omit<StreamEnd, "type" | "last_seq"> | null = null;
  private endSent = false;
  private paused = false;
  private closed = false;
  private readonly backoff = new Backoff(200, 10_000);
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly token: string,
    /** The attempt is the run token's claim; every frame repeats it for fencing. */
    private readonly attempt: number,
    private readonly hello: { host_id: string; pid: number | null },
    private readonly events: UplinkEvents,
    private readonly log: Logger,
  ) {}

  setPid(pid: number | null): void {
    this.hello.pid = pid;
  }

  open(): void {
    if (this.closed) return;
    const ws = new WebSocket(this.url, { headers: { authorization: `Bearer ${this.token}` }, perMessageDeflate: false });
    this.ws = ws;
    ws.on("open", () => {
      this.backoff.reset();
      ws.send(JSON.stringify({ type: "hello", ...this.hello }));
    });
    ws.on("message", (data, isBinary) => {
      if (!isBinary) this.onMessage(data.toString());
    });
    ws.on("error", (err) => {
      // A refused token or a vanished run will not get better by retrying.
      const status = /Unexpected server response: (\d+)/.exec(err.message)?.[1];
      this.log(`output stream: ${err.message}`);
      if (status === "401" || status === "403" || status === "404") this.giveUp();
    });
    ws.on("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      if (this.closed) return;
      const delay = this.backoff.next();
      this.retry = setTimeout(() => this.open(), delay);
    });
  }

  push(stream: StreamNo, data: Buffer): void {
    const last = this.pending[this.pending.length - 1];
    if (last && last.stream === stream && last.bytes + data.byteLength <= MAX_CHUNK) {
      last.parts.push(data);
      last.bytes += data.byteLength;
    } else {
      this.pending.push({ stream, parts: [data], bytes: data.byteLength });
    }
    this.unacked += data.byteLength;
    if (!this.paused && this.unacked > HIGH_WATER) this.setPaused(true);
    this.flush();
  }

  /** Queues the end report behind the last chunk. */
  end(report: Omit<StreamEnd, "type" | "last_seq">): void {
    this.endReport = report;
    this.flush();
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.ws?.close(1000);
    this.ws = null;
  }

  private giveUp(): void {
    this.close();
    this.events.superseded();
  }

  private onMessage(text: string): void {
    let msg;
    try {
      const parsed = RunToHost.safeParse(JSON.parse(text));
      if (!parsed.success) return;
      msg = parsed.data;
    } catch {
      return;
    }
    switch (msg.type) {
      case "ack":
        return this.onAck(msg.seq);
      case "cancel":
        return this.events.cancel(msg.reason);
      case "ended":
        this.close();
        return this.events.ended();
      case "superseded":
        return this.giveUp();
    }
  }

  private onAck(seq: number): void {
    const first = !this.ready;
    this.ready = true;
    let freed = 0;
    while (this.inflight.length && this.inflight[0]!.seq <= seq) freed += this.inflight.shift()!.data.byteLength;
    this.unacked -= freed;
    if (this.paused && this.unacked < LOW_WATER) this.setPaused(false);
    // After a (re)connect, or when the edge says it misses something: send again all it lacks.
    if (first) {
      if (this.inflight.length) this.sendBatch(this.inflight);
      this.endSent = false;
    }
    this.flush();
  }

  private flush(): void {
    const ws = this.ws;
    if (!ws || !this.ready) return;
    if (!this.inflight.length && this.pending.length) {
      const batch: Chunk[] = [];
      let bytes = 0;
      while (this.pending.length && (batch.length === 0 || bytes + this.pending[0]!.bytes <= BATCH_PAYLOAD)) {
        const p = this.pending.shift()!;
        const data = p.parts.length === 1 ? p.parts[0]! : Buffer.concat(p.parts, p.bytes);
        batch.push({ seq: this.nextSeq++, stream: p.stream, data });
        bytes += p.bytes;
      }
      this.inflight = batch;
      this.sendBatch(batch);
    }
    // The end report rides right behind the last batch; the edge checks it saw every chunk.
    if (!this.pending.length && this.endReport && !this.endSent) {
      this.endSent = true;
      ws.send(JSON.stringify({ type: "end", last_seq: this.nextSeq - 1, ...this.endReport }));
    }
  }

  private sendBatch(chunks: Chunk[]): void {
    this.ws?.send(encodeBatch(this.attempt, chunks));
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    this.events.pressure(paused);
  }
}
