import { DurableObject } from "cloudflare:workers";
import type { RunClaims } from "../auth/tokens.js";
import { agentStub, CLAIMS_HEADER, type Env } from "../env.js";
import { decodeBatch, STDERR, STDOUT } from "../protocol/frames.js";
import { isTerminal, type Run } from "../protocol/run.js";
import { HostToRun, type RunToHost, type StreamEnd } from "../protocol/stream.js";
import { migrate } from "../storage/schema.js";
import { endStatus } from "./end-status.js";
import { newRunState, publicRun, type RunInit, type RunState } from "./record.js";
import { KIND_EVENT, KIND_OUTPUT, KIND_STATE, RUN_SCHEMA } from "./schema.js";
import { Watchers } from "./watchers.js";

interface AttemptSocket {
  attempt: number;
}

const OUTPUT_PAGE = 64;

/** One run: its state machine, attempts, output log and watchers. */
export class RunDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private cached: RunState | null | undefined;
  private readonly watchers: Watchers;

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
    if (!s || isTerminal(s.status)) return s ? publicRun(s) : null;
    if (s.cancel_requested) return publicRun(s);
    if (s.attempt === 0) {
      const withdrawn = await agentStub(this.env, s.workspace, s.agent).withdraw(s.id);
      s = this.state()!;
      if (withdrawn && s.attempt === 0 && !isTerminal(s.status)) {
        this.transition({ status: "cancelled", cancel_requested: true, error: `cancelled: ${reason}`, ended_at: now() }, { type: "cancelled", reason });
        return publicRun(this.state()!);
      }
      if (isTerminal(s.status) || s.cancel_requested) return publicRun(s);
    }
    // A host holds it (or is about to say hello): tell it; its end report makes the run final.
    this.transition({ cancel_requested: true }, { type: "cancel_requested", reason, attempt: s.attempt });
    this.sendToAttempt(s.attempt, { type: "cancel", reason });
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
    if (this.watchers.size === 0) await this.ctx.storage.setAlarm(Date.now() + KEEPALIVE_MS);
    return this.watchers.open(after, output);
  }

  override async alarm(): Promise<void> {
    if (this.watchers.size === 0) return;
    this.watchers.keepAlive();
    await this.ctx.storage.setAlarm(Date.now() + KEEPALIVE_MS);
  }

  // ---- an attempt's output stream ----

  override async fetch(request: Request): Promise<Response> {
    const claims = JSON.parse(request.headers.get(CLAIMS_HEADER) ?? "null") as RunClaims | null;
    if (!claims || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    if (!this.state()) return new Response("no such run", { status: 404 });
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
    else this.onEnd(ws, sock.attempt, msg);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code);
    } catch {
      /* already closed */
    }
  }

  private onHello(ws: WebSocket, attempt: number, hostId: string, pid: number | null): void {
    const s = this.state()!;
    if (attempt < s.attempt) return this.supersede(ws);
    const known = this.sql.exec<{ last_seq: number; ended_at: number | null }>("SELECT last_seq, ended_at FROM attempts WHERE attempt = ?", attempt).toArray()[0];
    if (!known) {
      // Attempt numbers come only from the agent's object, so a higher one is the newer assignment.
      const running = !isTerminal(s.status);
      this.ctx.storage.transactionSync(() => {
        this.sql.exec("INSERT INTO attempts (attempt, host_id, pid, started_at) VALUES (?, ?, ?, ?)", attempt, hostId, pid, Date.now());
        const patch: Partial<RunState> = { attempt };
        if (running) Object.assign(patch, { status: "running", started_at: s.started_at ?? now() });
        this.transition(patch, { type: "attempt_started", attempt, host_id: hostId, pid });
      });
    }
    if (known?.ended_at) return send(ws, { type: "ended" });
    send(ws, { type: "ack", seq: known?.last_seq ?? 0 });
    const after = this.state()!;
    if (after.cancel_requested || isTerminal(after.status)) send(ws, { type: "cancel", reason: after.error ?? "cancelled" });
  }

  private onBatch(ws: WebSocket, attempt: number, message: ArrayBuffer): void {
    const s = this.state()!;
    if (attempt !== s.attempt) return this.supersede(ws);
    const batch = decodeBatch(message);
    if (!batch || batch.attempt !== attempt) return ws.close(1003, "malformed batch");
    const row = this.sql.exec<{ last_seq: number; ended_at: number | null }>("SELECT last_seq, ended_at FROM attempts WHERE attempt = ?", attempt).toArray()[0];
    if (!row) return ws.close(1008, "say hello first");
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

  private onEnd(ws: WebSocket, attempt: number, end: StreamEnd): void {
    const s = this.state()!;
    if (attempt !== s.attempt) return this.supersede(ws);
    const row = this.sql.exec<{ last_seq: number; ended_at: number | null }>("SELECT last_seq, ended_at FROM attempts WHERE attempt = ?", attempt).toArray()[0];
    if (!row) return ws.close(1008, "say hello first");
    if (row.ended_at) return send(ws, { type: "ended" });
    // The end follows the last chunk; if a chunk is missing the host resends from our ack.
    if (end.last_seq !== row.last_seq) return send(ws, { type: "ack", seq: row.last_seq });
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE attempts SET ended_at = ?, reason = ? WHERE attempt = ?", Date.now(), end.reason, attempt);
      const event = { type: "attempt_ended", attempt, reason: end.reason, exit_code: end.exit_code, signal: end.signal };
      if (isTerminal(s.status)) this.appendEvent(event);
      else this.transition({ ...endStatus(end, s.cancel_requested), ended_at: now() }, event);
    });
    send(ws, { type: "ended" });
    this.ctx.waitUntil(agentStub(this.env, s.workspace, s.agent).attemptEnded(s.id, attempt).catch(() => {}));
  }

  private supersede(ws: WebSocket): void {
    send(ws, { type: "superseded" });
    ws.close(4009, "superseded");
  }

  private sendToAttempt(attempt: number, msg: RunToHost): void {
    for (const ws of this.ctx.getWebSockets(`attempt:${attempt}`)) send(ws, msg);
  }

  // ---- state ----

  private state(): RunState | null {
    if (this.cached === undefined) {
      const row = this.sql.exec<{ body: string }>("SELECT body FROM run WHERE id = 1").toArray()[0];
      this.cached = row ? (JSON.parse(row.body) as RunState) : null;
    }
    return this.cached;
  }

  /** Persists the run and logs it as a state event, with an optional run event before it. */
  private transition(patch: Partial<RunState>, event?: Record<string, unknown>): void {
    const next = { ...this.state()!, ...patch };
    this.ctx.storage.transactionSync(() => {
      if (event) this.appendEvent(event, false);
      this.commit(next);
    });
  }

  private commit(s: RunState): void {
    const body = JSON.stringify(s);
    this.sql.exec("INSERT INTO run (id, body) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body", body);
    this.sql.exec("INSERT INTO log (kind, attempt, stream, data, at) VALUES (?, ?, 0, ?, ?)", KIND_STATE, s.attempt, JSON.stringify(publicRun(s)), Date.now());
    this.cached = s;
    this.watchers.notify();
  }

  private appendEvent(event: Record<string, unknown>, notify = true): void {
    const s = this.state()!;
    this.sql.exec("INSERT INTO log (kind, attempt, stream, data, at) VALUES (?, ?, 0, ?, ?)", KIND_EVENT, s.attempt, JSON.stringify({ ...event, at: now() }), Date.now());
    if (notify) this.watchers.notify();
  }
}

const KEEPALIVE_MS = 15_000;
const now = () => new Date().toISOString();
const send = (ws: WebSocket, msg: RunToHost) => {
  try {
    ws.send(JSON.stringify(msg));
  } catch {
    /* the socket closed; the host resends after it reconnects */
  }
};
