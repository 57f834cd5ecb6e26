import { DurableObject } from "cloudflare:workers";
import type { RunClaims } from "../auth/tokens.js";
import { agentStub, CLAIMS_HEADER, type Env } from "../env.js";
import { decodeBatch, STDERR, STDOUT } from "../protocol/frames.js";
import { isTerminal, type Run } from "../protocol/run.js";
import { HostToRun, type RunToHost, type StreamEnd } from "../protocol/stream.js";
import { closeBack } from "../sockets.js";
import { migrate } from "../storage/schema.js";
import { endVerdict } from "./end-status.js";
import { newRunState, publicRun, type RunInit, type RunState } from "./record.js";
import { retryDelay, type Outcome } from "./retry.js";
import { FENCED_REASONS, KIND_EVENT, KIND_OUTPUT, KIND_STATE, RUN_SCHEMA } from "./schema.js";
import { Watchers } from "./watchers.js";

interface AttemptSocket {
  attempt: number;
}

interface AttemptRow {
  host_id: string;
  last_seq: number;
  ended_at: number | null;
  reason: string | null;
  retry_delay_ms: number | null;
  [k: string]: SqlStorageValue;
}

/** What the agent's object does after an attempt ends: nothing more, or queue the run again. */
export interface AttemptSettled {
  retry_delay_ms: number | null;
}

type Event = Record<string, unknown> & { type: string };

const OUTPUT_PAGE = 64;
const KEEPALIVE_MS = 15_000;
const NOTIFY_RETRY_MS = 1_000;

/** One run: its state machine, attempts, output log and watchers. */
export class RunDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private cached: RunState | null | undefined;
  private readonly watchers: Watchers;
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrate(ctx.storage, RUN_SCHEMA);
    this.watchers = new Watchers(this.sql, () => {
      const s = this.state();
      return s !== null && isTerminal(s.status);
    });
  }

  // ---- RPC ----

  /** Creates the run; calling it again returns the run as it is. */
  async init(init: RunInit): Promise<Run> {
    const existing = this.state();
    if (existing) return publicRun(existing);
    const s = newRunState(init);
    this.ctx.storage.transactionSync(() => this.commit(s));
    return publicRun(s);
  }

  async get(): Promise<Run | null> {
    const s = this.state();
    return s ? publicRun(s) : null;
  }

  /** Idempotent: a run that already ended is returned unchanged. */
  async cancel(reason: string): Promise<Run | null> {
    let s = this.state();
    if (!s || isTerminal(s.status) || s.cancel_requested) return s ? publicRun(s) : null;
    if (s.status === "queued") {
      const withdrawn = await agentStub(this.env, s.workspace, s.agent).withdraw(s.id);
      s = this.state()!;
      if (isTerminal(s.status) || s.cancel_requested) return publicRun(s);
      if (withdrawn && s.status === "queued") {
        this.transition({ status: "cancelled", cancel_requested: true, error: `cancelled: ${reason}`, ended_at: now() }, [{ type: "cancelled", reason }]);
        return publicRun(this.state()!);
      }
    }
    // A host holds it (or is about to say hello): tell it on both of its sockets; its end
    // report makes the run final, or the lease's loss does if the host is gone.
    this.transition({ cancel_requested: true }, [{ type: "cancel_requested", reason, attempt: s.attempt }]);
    this.sendToAttempt(s.attempt, { type: "cancel", reason });
    const agent = agentStub(this.env, s.workspace, s.agent);
    this.ctx.waitUntil(agent.cancelAttempt(s.id, s.attempt, reason).catch(() => {}));
    return publicRun(this.state()!);
  }

  /**
   * The attempt's lease was lost. It is tried again only where another host could take it;
   * with none, the run ends orphaned rather than wait for a host that may never come.
   * Null for an attempt older than the run's current one.
   */
  async attemptLost(attempt: number, why: string, otherHosts: boolean): Promise<AttemptSettled | null> {
    const error = otherHosts ? `lost: ${why}` : `lost: ${why}; no other host was connected to retry on`;
    return this.endFromEdge(attempt, "lost", otherHosts ? "lost" : null, { status: "orphaned", error }, { type: "lease_lost", attempt, reason: why });
  }

  /** The attempt outlived its timeout at the edge (its host never reported the end). */
  async attemptExpired(attempt: number): Promise<AttemptSettled | null> {
    return this.endFromEdge(
      attempt,
      "expired",
      "timed_out",
      { status: "timed_out", error: "timed out: the host did not report the end before the deadline" },
      { type: "timed_out", attempt, reason: "deadline passed at the control plane" },
    );
  }

  /** The run waited in the queue past its queue timeout (the agent's object already dequeued it). */
  async expireQueued(why: string): Promise<Run | null> {
    const s = this.state();
    if (!s) return null;
    if (s.status === "queued") this.transition({ status: "cancelled", error: `cancelled: ${why}`, ended_at: now() }, [{ type: "queue_timeout", reason: why }]);
    return publicRun(this.state()!);
  }

  /** Output bytes of one attempt (default: the current one), optionally of one stream. */
  async output(stream: "stdout" | "stderr" | null, attempt: number | null): Promise<ReadableStream<Uint8Array> | null> {
    const s = this.state();
    if (!s) return null;
    const which = attempt ?? s.attempt;
    const streams = stream === null ? [STDOUT, STDERR] : [stream === "stdout" ? STDOUT : STDERR];
    const placeholders = streams.map(() => "?").join(",");
    let cursor = 0;
    const sql = this.sql;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
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
    });
  }

  /** The watch stream: every log row after `after`, live, ending after the terminal state. */
  async watch(after: number, output: boolean): Promise<ReadableStream<Uint8Array> | null> {
    if (!this.state()) return null;
    const stream = this.watchers.open(after, output);
    // Idle streams get a comment now and then; a timer in memory, since the object stays up
    // while it has watchers, and an alarm would cost a disk sync for every watcher.
    this.keepAlive ??= setInterval(() => {
      this.watchers.keepAlive();
      if (this.watchers.size === 0 && this.keepAlive !== undefined) {
        clearInterval(this.keepAlive);
        this.keepAlive = undefined;
      }
    }, KEEPALIVE_MS);
    return stream;
  }

  /** Delivers attempt ends the agent has not acknowledged. */
  override async alarm(): Promise<void> {
    await this.flushNotify();
  }

  // ---- an attempt's output stream ----

  override async fetch(request: Request): Promise<Response> {
    const claims = JSON.parse(request.headers.get(CLAIMS_HEADER) ?? "null") as RunClaims | null;
    if (!claims || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    // The agent hands a run to a host while its object is being created: come back in a moment.
    if (!this.state()) return new Response("the run is being created", { status: 503 });
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server, [`attempt:${claims.attempt}`]);
    server.serializeAttachment({ attempt: claims.attempt } satisfies AttemptSocket);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const sock = ws.deserializeAttachment() as AttemptSocket | null;
    if (!sock) return;
    if (typeof message !== "string") return this.onBatch(ws, sock.attempt, message);
    let parsed;
    try {
      parsed = HostToRun.safeParse(JSON.parse(message));
    } catch {
      return;
    }
    if (!parsed.success) return;
    const msg = parsed.data;
    if (msg.type === "hello") this.onHello(ws, sock.attempt, msg.host_id, msg.pid);
    else await this.onEnd(ws, sock.attempt, msg);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeBack(ws, code);
  }

  private onHello(ws: WebSocket, attempt: number, hostId: string, pid: number | null): void {
    const s = this.state()!;
    if (attempt < s.attempt) return this.supersede(ws);
    const known = this.attemptRow(attempt);
    if (known && known.ended_at) return known.reason && FENCED_REASONS.has(known.reason) ? this.supersede(ws) : send(ws, { type: "ended" });
    if (!known) {
      // Attempt numbers come only from the agent's object, so a higher one is the newer assignment.
      this.ctx.storage.transactionSync(() => {
        this.sql.exec("INSERT INTO attempts (attempt, host_id, pid, started_at) VALUES (?, ?, ?, ?)", attempt, hostId, pid, Date.now());
        const patch: Partial<RunState> = { attempt };
        if (!isTerminal(s.status)) Object.assign(patch, { status: "running", started_at: s.started_at ?? now(), exit_code: null, signal: null, error: null });
        this.transition(patch, [{ type: "attempt_started", attempt, host_id: hostId, pid }]);
      });
    }
    send(ws, { type: "ack", seq: known?.last_seq ?? 0 });
    const after = this.state()!;
    if (after.cancel_requested || isTerminal(after.status)) send(ws, { type: "cancel", reason: after.error ?? "cancelled" });
  }

  private onBatch(ws: WebSocket, attempt: number, message: ArrayBuffer): void {
    const s = this.state()!;
    if (attempt !== s.attempt) return this.supersede(ws);
    const batch = decodeBatch(message);
    if (!batch || batch.attempt !== attempt) return ws.close(1003, "malformed batch");
    const row = this.attemptRow(attempt);
    if (!row) return ws.close(1008, "say hello first");
    if (row.ended_at && row.reason && FENCED_REASONS.has(row.reason)) return this.supersede(ws);
    let last = row.last_seq;
    const at = Date.now();
    if (!row.ended_at) {
      this.ctx.storage.transactionSync(() => {
        for (const c of batch.chunks) {
          if (c.seq !== last + 1) continue; // a duplicate from a resend, or past a gap
          this.sql.exec("INSERT INTO log (kind, attempt, stream, data, at) VALUES (?, ?, ?, ?, ?)", KIND_OUTPUT, attempt, c.stream, c.data, at);
          last = c.seq;
        }
        if (last !== row.last_seq) this.sql.exec("UPDATE attempts SET last_seq = ? WHERE attempt = ?", last, attempt);
      });
    }
    send(ws, { type: "ack", seq: last });
    if (last !== row.last_seq) this.watchers.notify();
  }

  private async onEnd(ws: WebSocket, attempt: number, end: StreamEnd): Promise<void> {
    const s = this.state()!;
    if (attempt !== s.attempt) return this.supersede(ws);
    const row = this.attemptRow(attempt);
    if (!row) return ws.close(1008, "say hello first");
    if (row.ended_at) return row.reason && FENCED_REASONS.has(row.reason) ? this.supersede(ws) : send(ws, { type: "ended" });
    // The end follows the last chunk; if a chunk is missing the host resends from our ack.
    if (end.last_seq !== row.last_seq) return send(ws, { type: "ack", seq: row.last_seq });
    const verdict = endVerdict(end, s.cancel_requested);
    if (end.reason === "agent_stop" && verdict.outcome) {
      if (!(await agentStub(this.env, s.workspace, s.agent).hasOtherHosts(row.host_id))) verdict.outcome = null;
      if (this.attemptRow(attempt)?.ended_at) return send(ws, { type: "ended" });
    }
    const event = { type: "attempt_ended", attempt, reason: end.reason, exit_code: end.exit_code, signal: end.signal };
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE attempts SET ended_at = ?, reason = ? WHERE attempt = ?", Date.now(), end.reason, attempt);
      const delay = this.settle(attempt, verdict.outcome, verdict.final, event);
      this.sql.exec("UPDATE attempts SET retry_delay_ms = ? WHERE attempt = ?", delay, attempt);
      this.sql.exec("INSERT OR REPLACE INTO notify (attempt, retry_delay_ms) VALUES (?, ?)", attempt, delay);
    });
    send(ws, { type: "ended" });
    await this.flushNotify();
  }

  /**
   * Ends an attempt: if the run's policy tries this outcome again it goes back to `queued`,
   * otherwise it becomes final. Returns the wait before the next attempt, or null.
   */
  private settle(attempt: number, outcome: Outcome | null, final: Partial<RunState>, event: Event): number | null {
    const s = this.state()!;
    if (isTerminal(s.status)) {
      this.appendEvent(event);
      return null;
    }
    if (s.cancel_requested) {
      this.transition({ ...final, status: "cancelled", error: "cancelled", ended_at: now() }, [event]);
      return null;
    }
    const delay = outcome ? retryDelay(s.retry, attempt, outcome) : null;
    if (delay === null) {
      this.transition({ ...final, ended_at: now() }, [event]);
      return null;
    }
    const { exit_code = null, signal = null, error = null } = final;
    this.transition({ status: "queued", exit_code, signal, error }, [
      event,
      { type: "retry_scheduled", attempt: attempt + 1, delay_ms: delay, reason: outcome, of: s.retry.max_attempts },
    ]);
    return delay;
  }

  private endFromEdge(attempt: number, reason: string, outcome: Outcome | null, final: Partial<RunState>, event: Event): AttemptSettled | null {
    const s = this.state();
    if (!s || attempt < s.attempt) return null;
    const row = this.attemptRow(attempt);
    // Ended already (its end report won the race): the decision made then stands, and the
    // agent's object releases the lease once, whichever of the two tells it first.
    if (row?.ended_at) return { retry_delay_ms: row.retry_delay_ms };
    let delay: number | null = null;
    this.ctx.storage.transactionSync(() => {
      if (row) this.sql.exec("UPDATE attempts SET ended_at = ?, reason = ? WHERE attempt = ?", Date.now(), reason, attempt);
      // An attempt that never said hello gets its row too: its ended, fenced row refuses it later.
      else this.sql.exec("INSERT INTO attempts (attempt, host_id, started_at, ended_at, reason) VALUES (?, '', ?, ?, ?)", attempt, Date.now(), Date.now(), reason);
      delay = this.settle(attempt, outcome, final, event);
      this.sql.exec("UPDATE attempts SET retry_delay_ms = ? WHERE attempt = ?", delay, attempt);
    });
    for (const ws of this.ctx.getWebSockets(`attempt:${attempt}`)) this.supersede(ws);
    return { retry_delay_ms: delay };
  }

  private supersede(ws: WebSocket): void {
    send(ws, { type: "superseded" });
    try {
      ws.close(4009, "superseded");
    } catch {
      /* already closed */
    }
  }

  private sendToAttempt(attempt: number, msg: RunToHost): void {
    for (const ws of this.ctx.getWebSockets(`attempt:${attempt}`)) send(ws, msg);
  }

  /** Tells the agent's object about ended attempts; kept until it answers, so no lease is left behind. */
  private async flushNotify(): Promise<void> {
    const s = this.state();
    if (!s) return;
    const rows = this.sql.exec<{ attempt: number; retry_delay_ms: number | null }>("SELECT attempt, retry_delay_ms FROM notify ORDER BY attempt").toArray();
    for (const r of rows) {
      try {
        await agentStub(this.env, s.workspace, s.agent).attemptEnded(s.id, r.attempt, r.retry_delay_ms);
        this.sql.exec("DELETE FROM notify WHERE attempt = ?", r.attempt);
      } catch {
        await this.ctx.storage.setAlarm(Date.now() + NOTIFY_RETRY_MS);
        return;
      }
    }
  }

  // ---- state ----

  private attemptRow(attempt: number): AttemptRow | undefined {
    return this.sql.exec<AttemptRow>("SELECT host_id, last_seq, ended_at, reason, retry_delay_ms FROM attempts WHERE attempt = ?", attempt).toArray()[0];
  }

  private state(): RunState | null {
    if (this.cached === undefined) {
      const row = this.sql.exec<{ body: string }>("SELECT body FROM run WHERE id = 1").toArray()[0];
      this.cached = row ? (JSON.parse(row.body) as RunState) : null;
    }
    return this.cached;
  }

  /** Persists the run and logs it as a state event, after the run events that explain it. */
  private transition(patch: Partial<RunState>, events: Event[] = []): void {
    const next = { ...this.state()!, ...patch };
    this.ctx.storage.transactionSync(() => {
      for (const e of events) this.appendEvent(e, false);
      this.commit(next);
    });
  }

  private commit(s: RunState): void {
    this.sql.exec("INSERT INTO run (id, body) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body", JSON.stringify(s));
    this.sql.exec("INSERT INTO log (kind, attempt, stream, data, at) VALUES (?, ?, 0, ?, ?)", KIND_STATE, s.attempt, JSON.stringify(publicRun(s)), Date.now());
    this.cached = s;
    this.watchers.notify();
  }

  private appendEvent(event: Event, notify = true): void {
    const s = this.state()!;
    this.sql.exec("INSERT INTO log (kind, attempt, stream, data, at) VALUES (?, ?, 0, ?, ?)", KIND_EVENT, s.attempt, JSON.stringify({ ...event, at: now() }), Date.now());
    if (notify) this.watchers.notify();
  }
}

const now = () => new Date().toISOString();
const send = (ws: WebSocket, msg: RunToHost) => {
  try {
    ws.send(JSON.stringify(msg));
  } catch {
    /* the socket closed; the host resends after it reconnects */
  }
};
