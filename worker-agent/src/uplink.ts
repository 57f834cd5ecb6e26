/**
 * One attempt's output stream to its run's object. Chunks are numbered from 1; one batch is
 * in flight at a time and whatever arrives meanwhile goes in the next, so batches grow with
 * the output rate. Nothing is forgotten before the edge acknowledges it: after a reconnect the
 * unacknowledged batch is sent again and the edge stores each chunk once.
 */
import WebSocket from "ws";
import { encodeBatch, type StreamNo } from "../../src/protocol/frames.js";
import { LIMITS } from "../../src/protocol/limits.js";
import { RunToHost, type StreamEnd } from "../../src/protocol/stream.js";
import { Backoff } from "./backoff.js";
import { frameMask } from "./frame-mask.js";
import type { Logger } from "./log.js";

const MAX_CHUNK = 256 * 1024;
/**
 * Above this many unacknowledged bytes the process's pipes are paused (backpressure, never
 * loss): one batch in flight and about as much waiting keeps the edge busy and the host small.
 */
const HIGH_WATER = 2 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
const BATCH_PAYLOAD = LIMITS.batchBytes - 64 * 1024;

export interface UplinkEvents {
  superseded(): void;
  /** Live input for the process's stdin, numbered per run; may come again after a reconnect. */
  input(seq: number, data: Buffer, eof: boolean): void;
  /** True: stop reading the process's output for now; false: read on. */
  pressure(paused: boolean): void;
  ended(): void;
}

interface Pending {
  stream: StreamNo;
  parts: Buffer[];
  bytes: number;
}

/** The batch awaiting its acknowledgement, kept as the frame that was sent. */
interface InFlight {
  frame: Uint8Array;
  last: number;
  bytes: number;
}

export class Uplink {
  private ws: WebSocket | null = null;
  private ready = false;
  private pending: Pending[] = [];
  private inflight: InFlight | null = null;
  /**
   * Every batch is encoded here, reused and grown to the largest so far: most jobs print a few
   * bytes, and a 1 MB buffer per attempt cost a zero-fill each. One frame is in flight at a
   * time and the next is encoded only once it is acknowledged, so ws may send this very buffer.
   */
  private frameBuffer: Uint8Array | undefined;
  private unacked = 0;
  private nextSeq = 1;
  private endReport: Omit<StreamEnd, "type" | "last_seq"> | null = null;
  private endSent = false;
  private runEvents: Record<string, string | number | boolean | null>[] = [];
  private paused = false;
  private closed = false;
  private everOpened = false;
  // A run's object still being created answers 503 for a moment: come back quickly at first.
  private readonly backoff = new Backoff(25, 10_000);
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    /** The host's own credential: the job's token can neither stream nor end anything. */
    private readonly credential: () => string,
    /** Every frame repeats the attempt, for fencing. */
    private readonly attempt: number,
    private readonly hello: { pid: number | null },
    private readonly events: UplinkEvents,
    private readonly log: Logger,
  ) {}

  setPid(pid: number | null): void {
    this.hello.pid = pid;
  }

  /** Whether the stream was ever opened: an attempt that never needed it may end on the control socket instead. */
  get opened(): boolean {
    return this.everOpened;
  }

  /** Bytes written and not yet acknowledged (all of them, while the stream was never opened). */
  get unackedBytes(): number {
    return this.unacked;
  }

  /** What was written and not yet sent, in order: all of it, while the stream was never opened. */
  unsent(): { stream: StreamNo; data: Buffer }[] {
    return this.pending.map((p) => ({ stream: p.stream, data: Buffer.concat(p.parts) }));
  }

  /** Connects, unless connected or connecting already. */
  open(): void {
    if (this.closed || this.ws) return;
    this.everOpened = true;
    const ws = new WebSocket(this.url, { headers: { authorization: `Bearer ${this.credential()}` }, perMessageDeflate: false, ...frameMask(this.url) });
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
      if (status !== "503") this.log(`output stream: ${err.message}`);
      if (status === "401" || status === "403" || status === "404") this.giveUp();
    });
    ws.on("close", (code, reason) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      if (this.closed) return;
      // The edge closes for a broken limit or a refused attempt with a reason worth reading.
      if (code >= 4000) this.log(`output stream closed by the control plane (${code} ${reason.toString()})`);
      this.retry = setTimeout(() => this.open(), this.backoff.next());
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

  /** Live input up to `seq` is written; one lost with the connection is asked for again by the edge's resend. */
  inputAck(seq: number): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "input_ack", seq }));
  }

  /** A run event read from the output; it goes once the output before it is acknowledged. */
  event(e: Record<string, string | number | boolean | null>): void {
    this.runEvents.push(e);
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
      case "ended":
        this.close();
        return this.events.ended();
      case "superseded":
        return this.giveUp();
      case "input":
        return this.events.input(msg.seq, Buffer.from(msg.data, "base64"), msg.eof);
    }
  }

  private onAck(seq: number): void {
    const first = !this.ready;
    this.ready = true;
    if (this.inflight && seq >= this.inflight.last) {
      this.unacked -= this.inflight.bytes;
      this.inflight = null;
      if (this.paused && this.unacked < LOW_WATER) this.setPaused(false);
    }
    // After a (re)connect: send again what the edge lacks; it skips chunks it has.
    if (first) {
      if (this.inflight) this.ws?.send(this.inflight.frame);
      this.endSent = false;
    }
    this.flush();
  }

  private flush(): void {
    const ws = this.ws;
    if (!ws || !this.ready) return;
    if (!this.inflight && this.pending.length) {
      const batch: { seq: number; stream: StreamNo; data: Buffer[] }[] = [];
      let bytes = 0;
      while (this.pending.length && (batch.length === 0 || bytes + this.pending[0]!.bytes <= BATCH_PAYLOAD)) {
        const p = this.pending.shift()!;
        batch.push({ seq: this.nextSeq++, stream: p.stream, data: p.parts });
        bytes += p.bytes;
      }
      const frame = encodeBatch(this.attempt, batch, this.frameBuffer);
      if (frame.byteLength > (this.frameBuffer?.byteLength ?? 0)) this.frameBuffer = frame;
      this.inflight = { frame, last: this.nextSeq - 1, bytes };
      ws.send(this.inflight.frame);
    }
    if (!this.inflight && !this.pending.length) for (const e of this.runEvents.splice(0)) ws.send(JSON.stringify({ type: "event", event: e }));
    // The end report rides right behind the last batch; the edge checks it saw every chunk.
    if (!this.pending.length && this.endReport && !this.endSent) {
      this.endSent = true;
      ws.send(JSON.stringify({ type: "end", last_seq: this.nextSeq - 1, ...this.endReport }));
    }
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    this.events.pressure(paused);
  }
}
