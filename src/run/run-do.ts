import { DurableObject } from "cloudflare:workers";
import type { HostClaims } from "../auth/tokens.js";
import { agentStub, CLAIMS_HEADER, type Env } from "../env.js";
import { agentOfRun } from "../protocol/ids.js";
import { isTerminal, type Run } from "../protocol/run.js";
import type { RunChange } from "../protocol/run-change.js";
import { STDERR, STDOUT } from "../protocol/frames.js";
import { closeBack } from "../sockets.js";
import { hasSchema, migrate } from "../storage/schema.js";
import { AttemptStreams, type AttemptSocket } from "./attempt-stream.js";
import { RunLog } from "./log.js";
import { eventsAfter, outputAfter } from "./read-log.js";
import type { OutputEntry, RunEventEntry } from "../protocol/run-events.js";
import { KIND_OUTPUT, RUN_SCHEMA } from "./schema.js";
import { LiveInput, type InputAnswer } from "./live-input.js";
import { Watchers } from "./watchers.js";

/** How long an input call waits for the host to say it wrote the bytes before answering "queued". */
const INPUT_WAIT_MS = 2_000;

/** Header by which the Worker names the run and attempt of an output stream. */
export const RUN_HEADER = "x-tether-run";
export const ATTEMPT_HEADER = "x-tether-attempt";

const OUTPUT_PAGE = 16;
const KEEPALIVE_MS = 15_000;

/**
 * One run's large and live parts: its output log, its events, its watchers. It is made when the
 * run first starts (or is first watched), learns every state change from the run's agent, which
 * alone decides them, and applies each change once.
 */
export class RunDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private ready: boolean;
  private readonly log: RunLog;
  private readonly watchers: Watchers;
  private readonly streams: AttemptStreams;
  private readonly stdin: LiveInput;
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.ready = hasSchema(ctx.storage);
    if (this.ready) migrate(ctx.storage, RUN_SCHEMA);
    this.log = new RunLog(this.sql, () => this.ready);
    this.stdin = new LiveInput(this.sql);
    this.watchers = new Watchers(this.sql, () => {
      const s = this.ready ? this.log.state() : null;
      return s !== null && isTerminal(s.run.status);
    });
    this.streams = new AttemptStreams({
      storage: ctx.storage,
      log: this.log,
      agent: (sock) => agentStub(env, sock.ws, agentOfRun(sock.run)!),
      ensure: () => this.ensure(),
      changed: () => this.watchers.notify(),
      input: this.stdin,
      inputFor: (_attempt, send) => this.ready && this.stdin.sendPending(send),
    });
  }

  // ---- RPC, from the run's agent and the Worker ----

  /** Applies the agent's changes newer than what is here; returns the version held. */
  async apply(changes: RunChange[]): Promise<number> {
    this.ensure();
    let r = { version: 0, changed: false };
    this.ctx.storage.transactionSync(() => (r = this.log.apply(changes)));
    if (r.changed) this.watchers.notify();
    return r.version;
  }

  /**
   * Output bytes of one attempt (default: the current one), optionally of one stream.
   * `ifMade`: null when the object was never made (its run may have one; reading makes none).
   */
  async output(changes: RunChange[], stream: "stdout" | "stderr" | null, attempt: number | null, ifMade = false): Promise<ReadableStream<Uint8Array> | null> {
    if (ifMade && !this.ready) return null;
    if (changes.length) await this.apply(changes);
    const which = attempt ?? this.log.state()?.run.attempt ?? 0;
    const streams = stream === null ? [STDOUT, STDERR] : [stream === "stdout" ? STDOUT : STDERR];
    const placeholders = streams.map(() => "?").join(",");
    let cursor = 0;
    const sql = this.sql;
    const ready = this.ready;
    const bytes = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (!ready) return controller.close();
          const rows = sql
            .exec<{ id: number; data: ArrayBuffer }>(
              `SELECT id, data FROM log WHERE kind = ? AND attempt = ? AND stream IN (${placeholders}) AND id > ? ORDER BY id LIMIT ?`,
              KIND_OUTPUT, which, ...streams, cursor, OUTPUT_PAGE,
            )
            .toArray();
          for (const r of rows) {
            cursor = r.id;
            controller.enqueue(new Uint8Array(r.data));
          }
          if (rows.length < OUTPUT_PAGE) controller.close();
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 1024 * 1024 }),
    );
    return overRpc(bytes);
  }

  /** Whether a watcher after `after` has anything left to hear: false once the run ended and it has heard it all. */
  async hasMore(changes: RunChange[], after: number): Promise<boolean> {
    await this.apply(changes);
    const s = this.log.state();
    if (!s || !isTerminal(s.run.status)) return true;
    return this.sql.exec("SELECT 1 FROM log WHERE id > ? LIMIT 1", after).toArray().length > 0;
  }

  /** The watch stream: every log row after `after`, live, ending after the terminal state; null when the run has all the watchers it may. */
  async watch(changes: RunChange[], after: number, output: boolean): Promise<ReadableStream<Uint8Array> | null> {
    await this.apply(changes);
    const stream = this.watchers.open(after, output);
    if (!stream) return null;
    // Idle streams get a comment now and then; a timer in memory, since the object stays up
    // while it has watchers, and an alarm would cost a disk sync for every watcher.
    this.keepAlive ??= setInterval(() => {
      this.watchers.keepAlive();
      if (this.watchers.size === 0 && this.keepAlive !== undefined) {
        clearInterval(this.keepAlive);
        this.keepAlive = undefined;
      }
    }, KEEPALIVE_MS);
    return overRpc(stream);
  }

  /**
   * Live input for the job's stdin: delivered when its host wrote it within a moment, queued
   * when it waits (for the host, or for the run to start), or rejected with the reason.
   */
  async input(changes: RunChange[], data: Uint8Array, eof: boolean): Promise<InputAnswer> {
    await this.apply(changes);
    const run = this.log.state()?.run;
    if (!run) return { state: "rejected", reason: "the run's record is gone (its retention ended)" };
    if (isTerminal(run.status)) return { state: "rejected", reason: `the run has ended (${run.status})` };
    return this.take(run, data, eof);
  }

  /**
   * Live input sent here first, without asking the agent: taken only while an attempt is running
   * and its host is connected here, which is when a delivery can be answered at once. A change
   * still on its way from the agent (a cancel) then races the input as it would on the host.
   * Null means this object cannot answer alone: ask the agent for the run's changes first.
   */
  async inputLive(data: Uint8Array, eof: boolean): Promise<InputAnswer | null> {
    const run = this.ready ? this.log.state()?.run : undefined;
    if (run?.status !== "running" || !this.granted(run.attempt).length) return null;
    return this.take(run, data, eof);
  }

  private async take(run: Run, data: Uint8Array, eof: boolean): Promise<InputAnswer> {
    if (!run.stdin_pipe) return { state: "rejected", reason: 'the run was not submitted with stdin: {"mode": "pipe"}' };
    let taken: { seq: number } | { reason: string } = { reason: "" };
    this.ctx.storage.transactionSync(() => (taken = this.stdin.offer(data, eof)));
    if ("reason" in taken) return { state: "rejected", reason: taken.reason };
    const { seq } = taken;
    for (const ws of this.granted(run.attempt)) this.stdin.sendPending((m) => ws.send(JSON.stringify(m)));
    return { state: (await this.stdin.delivered(seq, INPUT_WAIT_MS)) ? "delivered" : "queued", seq };
  }

  /** The output streams of an attempt that its host opened with the grant. */
  private granted(attempt: number): WebSocket[] {
    return this.ctx.getWebSockets(`attempt:${attempt}`).filter((ws) => (ws.deserializeAttachment() as AttemptSocket | null)?.granted);
  }

  /** Live input that waits for the job, oldest first. */
  async waitingInput(changes: RunChange[], ifMade = false): Promise<{ seq: number; bytes: number; eof: boolean }[] | null> {
    if (ifMade && !this.ready) return null;
    await this.apply(changes);
    return this.stdin.waiting();
  }

  /** Events after the cursor, oldest first (for polling clients). */
  async events(changes: RunChange[], after: number, limit: number, ifMade = false): Promise<RunEventEntry[] | null> {
    if (ifMade && !this.ready) return null;
    await this.apply(changes);
    return eventsAfter(this.sql, after, limit);
  }

  /** Output after one cursor and events after another, bounded, for one batch answer. */
  async batch(changes: RunChange[], logCursor: number, eventCursor: number, maxBytes: number, maxEvents: number, ifMade = false): Promise<{ output: OutputEntry[]; events: RunEventEntry[]; more: boolean } | null> {
    if (ifMade && !this.ready) return null;
    await this.apply(changes);
    const { output, more } = outputAfter(this.sql, logCursor, maxBytes);
    const events = eventsAfter(this.sql, eventCursor, maxEvents + 1);
    return { output, events: events.slice(0, maxEvents), more: more || events.length > maxEvents };
  }

  /** The run's retention ended: everything here goes. */
  async purge(): Promise<void> {
    if (!this.ready) return;
    for (const ws of this.ctx.getWebSockets()) closeBack(ws, 1000);
    await this.ctx.storage.deleteAll();
    this.ready = false;
    this.log.forget();
  }

  // ---- an attempt's output stream ----

  override async fetch(request: Request): Promise<Response> {
    const claims = JSON.parse(request.headers.get(CLAIMS_HEADER) ?? "null") as HostClaims | null;
    const run = request.headers.get(RUN_HEADER);
    const attempt = Number(request.headers.get(ATTEMPT_HEADER));
    if (!claims || !run || !Number.isInteger(attempt) || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [`attempt:${attempt}`]);
    pair[1].serializeAttachment({ ws: claims.ws, run, attempt, host: claims.host, gen: claims.gen } satisfies AttemptSocket);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const sock = ws.deserializeAttachment() as AttemptSocket | null;
    if (sock) await this.streams.message(ws, sock, message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeBack(ws, code);
  }

  private ensure(): void {
    if (this.ready) return;
    migrate(this.ctx.storage, RUN_SCHEMA);
    this.ready = true;
  }

}

/**
 * A stream to hand back over RPC. A client that goes away cancels it from the far side, and the
 * runtime's pump of a script-made stream then rejects where nothing can catch it (an uncaught
 * "Network connection lost" per disconnected watcher). Piped into a native stream, the failure
 * lands on this pipe, which expects it; the cancel still reaches the source and frees it.
 */
function overRpc(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const native = new IdentityTransformStream();
  stream.pipeTo(native.writable).catch(() => undefined);
  return native.readable;
}
