/**
 * An attempt's output stream at the run's object. The host opens it with its own credential; the
 * agent's object says whether that host was given the attempt. Output is stored in order, once;
 * the end report is taken only after the last chunk, and the agent's object decides what it means.
 */
import type { AgentDO, StreamGrant } from "../agent/agent-do.js";
import { decodeBatch } from "../protocol/frames.js";
import { LIMITS } from "../protocol/limits.js";
import type { RunChange } from "../protocol/run-change.js";
import { HostToRun, type RunToHost, type StreamEnd } from "../protocol/stream.js";
import { CLOSE_LIMIT } from "../protocol/version.js";
import { MessageRate } from "../sockets.js";
import type { LiveInput } from "./live-input.js";
import type { RunLog } from "./log.js";

/** Who opened the socket, from the credential the Worker verified. */
export interface AttemptSocket {
  ws: string;
  run: string;
  attempt: number;
  host: string;
  gen: number;
  /** Set once the agent's object said this host holds the attempt. */
  granted?: boolean;
}

/** How long what hello learned may wait for the first batch before it is written on its own. */
const HELLO_FLUSH_MS = 100;

export interface StreamDeps {
  storage: DurableObjectStorage;
  log: RunLog;
  agent(sock: AttemptSocket): DurableObjectStub<AgentDO>;
  /** Makes sure the object has its schema (a stream may be the first thing it hears of). */
  ensure(): void;
  /** Something new is in the log. */
  changed(): void;
  input: LiveInput;
  /** Sends the live input waiting for this attempt, if the object has any. */
  inputFor(attempt: number, send: (msg: RunToHost) => void): void;
}

export class AttemptStreams {
  /**
   * What hello learned and has not written: the run's changes pulled from its agent, and the
   * process's start. They go with the first batch or the end, in the same commit, or after a
   * moment if neither comes.
   */
  private readonly pulled = new Map<string, RunChange[]>();
  private started: { attempt: number; pid: number | null; host: string } | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly rate = new MessageRate(LIMITS.streamMessagesPerS);
  private hostEvents = 0;

  constructor(private readonly d: StreamDeps) {}

  async message(ws: WebSocket, sock: AttemptSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.rate.allow(ws)) return close(ws, CLOSE_LIMIT, `more than ${LIMITS.streamMessagesPerS} messages per second`);
    if (typeof message !== "string") return this.batch(ws, sock, message);
    let json: unknown;
    try {
      json = JSON.parse(message);
    } catch {
      return close(ws, 1007, "a message is not JSON");
    }
    const parsed = HostToRun.safeParse(json);
    if (!parsed.success) return close(ws, 1008, `bad message: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    const msg = parsed.data;
    if (msg.type === "hello") await this.hello(ws, sock, msg.pid);
    else if (msg.type === "event") this.event(ws, sock, msg.event);
    else if (msg.type === "input_ack") {
      if (sock.granted && this.d.log.state()) this.d.input.acked(msg.seq);
    } else await this.end(ws, sock, msg);
  }

  private async hello(ws: WebSocket, sock: AttemptSocket, pid: number | null): Promise<void> {
    const grant = await this.d.agent(sock).openStream(sock.run, sock.attempt, sock.host, sock.gen);
    if (!this.granted(ws, grant)) return;
    ws.serializeAttachment({ ...sock, granted: true } satisfies AttemptSocket);
    const known = this.d.log.state() ? this.d.log.lastSeq(sock.attempt) : 0;
    // A reconnect of a stream already going has nothing to announce.
    if (known === 0) this.started = { attempt: sock.attempt, pid, host: sock.host };
    this.pulled.set(sock.run, grant.changes);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      if (this.started || this.pulled.size) this.write(() => undefined);
    }, HELLO_FLUSH_MS);
    send(ws, { type: "ack", seq: known });
    // What live input the job has not yet been given goes to the attempt that runs it now: as
    // the changes just pulled say, since the log learns them only when they are written (an
    // object made for input to a queued run still holds attempt 0 here).
    const newest = grant.changes.reduce<RunChange | null>((a, c) => (a && a.version >= c.version ? a : c), null);
    const current = newest?.run.attempt ?? this.d.log.state()?.run.attempt;
    if (current === undefined || current === sock.attempt) this.d.inputFor(sock.attempt, (m) => send(ws, m));
  }

  private async batch(ws: WebSocket, sock: AttemptSocket, message: ArrayBuffer): Promise<void> {
    if (!sock.granted) return close(ws, 1008, "say hello first");
    if (!this.d.log.state() && !this.pulled.size) {
      // The object restarted between hello and this batch: ask again what the run is.
      const grant = await this.d.agent(sock).openStream(sock.run, sock.attempt, sock.host, sock.gen);
      if (!this.granted(ws, grant)) return;
      this.pulled.set(sock.run, grant.changes);
    }
    if (message.byteLength > LIMITS.batchBytes) return close(ws, CLOSE_LIMIT, `a batch frame is larger than ${LIMITS.batchBytes} bytes`);
    const batch = decodeBatch(message);
    if (!batch || batch.attempt !== sock.attempt) return close(ws, 1003, "malformed batch");
    if (batch.chunks.length > LIMITS.batchChunks) return close(ws, CLOSE_LIMIT, `a batch holds more than ${LIMITS.batchChunks} chunks`);
    let last = 0;
    let stored = false;
    this.write(() => {
      const r = this.d.log.storeChunks(sock.attempt, batch.chunks);
      last = r.last;
      stored = r.stored;
    });
    send(ws, { type: "ack", seq: last });
    if (stored) this.d.changed();
  }

  /** A run event the host read in what a runner printed; at most so many per run, the rest dropped. */
  private event(ws: WebSocket, sock: AttemptSocket, event: Record<string, string | number | boolean | null>): void {
    if (!sock.granted) return close(ws, 1008, "say hello first");
    if (++this.hostEvents > LIMITS.hostEventsPerRun) return;
    const { type, ...rest } = event;
    this.write(() => this.d.log.event(sock.attempt, { ...rest, type: String(type), attempt: sock.attempt }));
    this.d.changed();
  }

  private async end(ws: WebSocket, sock: AttemptSocket, end: StreamEnd): Promise<void> {
    if (!sock.granted) return close(ws, 1008, "say hello first");
    const stored = this.d.log.state() ? this.d.log.lastSeq(sock.attempt) : 0;
    // The end follows the last chunk; if a chunk is missing the host resends from our ack.
    if (end.last_seq !== stored) return send(ws, { type: "ack", seq: stored });
    const grant = await this.d.agent(sock).endAttempt(sock.run, sock.attempt, sock.host, sock.gen, end);
    if (!this.granted(ws, grant)) return;
    this.write(() => undefined, grant.changes);
    send(ws, { type: "ended" });
  }

  /** One transaction: the changes pulled or given, then the caller's own writes. */
  private write(fn: () => void, changes: readonly RunChange[] = []): void {
    this.d.ensure();
    const run = [...this.pulled.values()].flat();
    this.pulled.clear();
    const started = this.started;
    this.started = null;
    let changed = false;
    this.d.storage.transactionSync(() => {
      // The process started after its assignment and before whatever ended it: in that order.
      const all = [...run, ...changes];
      const assigned = all.find((c) => c.run.status === "running" && c.run.attempt === started?.attempt)?.version ?? 0;
      changed = this.d.log.apply(all.filter((c) => c.version <= assigned)).changed;
      if (started) {
        this.d.log.event(started.attempt, { type: "process_started", attempt: started.attempt, pid: started.pid, host_id: started.host });
        changed = true;
      }
      changed = this.d.log.apply(all).changed || changed;
      fn();
    });
    if (changed) this.d.changed();
  }

  private granted(ws: WebSocket, grant: StreamGrant): boolean {
    if (grant.ok) return true;
    send(ws, { type: "superseded" });
    close(ws, 4003, grant.why);
    return false;
  }
}

function close(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason.slice(0, 120));
  } catch {
    /* already closed */
  }
}

function send(ws: WebSocket, msg: RunToHost): void {
  try {
    ws.send(JSON.stringify(msg));
  } catch {
    /* the socket closed; the host resends after it reconnects */
  }
}
