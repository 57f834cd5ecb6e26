import { DurableObject } from "cloudflare:workers";
import { signToken, type HostClaims } from "../auth/tokens.js";
import { CLAIMS_HEADER, runStub, type Env } from "../env.js";
import { HostMessage, type EdgeToHost } from "../protocol/host.js";
import { newRunId } from "../protocol/ids.js";
import { LIMITS } from "../protocol/limits.js";
import type { JobSpec, Run } from "../protocol/run.js";
import { migrate } from "../storage/schema.js";
import { HOST_TAG, hostOf, hostsWithCredit, setHost, type HostInfo } from "./hosts.js";
import { AGENT_SCHEMA, type Profile } from "./schema.js";
import { Timers, type Timer } from "./timers.js";

export interface AgentView {
  name: string;
  created_at: string;
  hosts: (Omit<HostInfo, "credit"> & { free: number })[];
  queued: number;
  running: number;
}

type QueuedJob = JobSpec & { timeout_ms: number };

export interface SubmitOptions {
  /** A key seen before returns the run it made, and makes no new one. */
  idempotency_key?: string;
  schedule_id?: string;
  scheduled_for?: string;
}

export interface Submitted {
  run: Run;
  created: boolean;
}

/** Run tokens outlive the run's timeout by a day, enough to deliver the last output. */
const RUN_TOKEN_GRACE_S = 24 * 3600;

/** One agent: its profile, its queue, its connected hosts and the leases they hold. */
export class AgentDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly timers: Timers;
  /** What each kind of timer does when it comes due; every handler must be safe to run twice. */
  private readonly onTimer: Record<string, (t: Timer, now: number) => Promise<void>> = {};
  private dispatching = false;
  private dispatchAgain = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrate(ctx.storage, AGENT_SCHEMA);
    this.timers = new Timers(ctx.storage);
    // Hosts ping on their control socket; answering without waking the object keeps idle agents free.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  // ---- RPC: the agent ----

  /** Creates the agent; null when it exists already. */
  async create(workspace: string, name: string): Promise<{ agent: AgentView; host_token: string } | null> {
    if (this.profile()) return null;
    this.sql.exec(
      "INSERT INTO profile (id, workspace, name, created_at, host_token_gen) VALUES (1, ?, ?, ?, 1)",
      workspace, name, new Date().toISOString(),
    );
    return { agent: this.view()!, host_token: await this.hostToken(this.profile()!) };
  }

  async get(): Promise<AgentView | null> {
    return this.view();
  }

  /** A new host token; tokens minted before stop working and their hosts are disconnected. */
  async rotateHostToken(): Promise<string | null> {
    const p = this.profile();
    if (!p) return null;
    this.sql.exec("UPDATE profile SET host_token_gen = host_token_gen + 1 WHERE id = 1");
    for (const ws of this.ctx.getWebSockets(HOST_TAG)) ws.close(4001, "host token rotated");
    return this.hostToken(this.profile()!);
  }

  /** Deletes the agent: its waiting and running runs are cancelled, its hosts disconnected. */
  async destroy(): Promise<boolean> {
    const p = this.profile();
    if (!p) return false;
    const runs = this.sql.exec<{ run_id: string }>("SELECT run_id FROM queue UNION SELECT run_id FROM leases").toArray();
    for (const ws of this.ctx.getWebSockets(HOST_TAG)) ws.close(4004, "agent deleted");
    // Each run withdraws itself from the queue, or tells its host to stop, before the state goes.
    await Promise.all(runs.map((r) => runStub(this.env, p.workspace, r.run_id).cancel("agent deleted").catch(() => null)));
    await this.ctx.storage.deleteAll();
    migrate(this.ctx.storage, AGENT_SCHEMA);
    return true;
  }

  // ---- RPC: runs ----

  /** Creates a run and queues it; a host with a free slot gets it at once. Null: no such agent. */
  async submit(job: JobSpec, opts: SubmitOptions = {}): Promise<Submitted | null> {
    const p = this.profile();
    if (!p) return null;
    if (opts.idempotency_key !== undefined) {
      const seen = this.sql.exec<{ run_id: string }>("SELECT run_id FROM idempotency WHERE key = ?", opts.idempotency_key).toArray()[0];
      if (seen) {
        const run = await runStub(this.env, p.workspace, seen.run_id).get();
        if (run) return { run, created: false };
      }
    }
    const id = newRunId();
    const queued: QueuedJob = { ...job, timeout_ms: job.timeout_ms ?? LIMITS.timeoutMsDefault };
    // Claimed before the first await, so a concurrent submit with the same key finds it.
    if (opts.idempotency_key !== undefined) {
      this.sql.exec("INSERT OR REPLACE INTO idempotency (key, run_id, created_at) VALUES (?, ?, ?)", opts.idempotency_key, id, Date.now());
    }
    const run = await runStub(this.env, p.workspace, id).init({
      id,
      workspace: p.workspace,
      agent: p.name,
      argv: job.argv,
      labels: job.labels ?? {},
      timeout_ms: queued.timeout_ms,
      created_at: new Date().toISOString(),
      schedule_id: opts.schedule_id ?? null,
      scheduled_for: opts.scheduled_for ?? null,
    });
    this.sql.exec("INSERT INTO queue (run_id, job, enqueued_at) VALUES (?, ?, ?)", id, JSON.stringify(queued), Date.now());
    await this.dispatch();
    return { run, created: true };
  }

  /** Takes a run out of the queue if no host has it yet. */
  async withdraw(runId: string): Promise<boolean> {
    return this.sql.exec("DELETE FROM queue WHERE run_id = ?", runId).rowsWritten > 0;
  }

  async attemptEnded(runId: string, attempt: number): Promise<void> {
    this.sql.exec("DELETE FROM leases WHERE run_id = ? AND attempt = ?", runId, attempt);
  }

  // ---- timers ----

  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const t of this.timers.due(now)) {
      const handler = this.onTimer[t.kind];
      if (handler) await handler(t, now);
      else this.timers.clear(t.key);
    }
    await this.timers.arm();
  }

  // ---- hosts ----

  override async fetch(request: Request): Promise<Response> {
    const claims = JSON.parse(request.headers.get(CLAIMS_HEADER) ?? "null") as HostClaims | null;
    const p = this.profile();
    if (!claims || !p) return new Response("no such agent", { status: 404 });
    if (claims.gen !== p.host_token_gen) return new Response("this host token was rotated; use the new one", { status: 401 });
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [HOST_TAG]);
    pair[1].serializeAttachment({});
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== "string") return;
    let parsed;
    try {
      parsed = HostMessage.safeParse(JSON.parse(message));
    } catch {
      return;
    }
    if (!parsed.success) return ws.close(1008, `bad message: ${parsed.error.issues[0]?.message ?? "invalid"}`.slice(0, 120));
    const msg = parsed.data;
    const host = hostOf(ws);
    if (msg.type === "hello") {
      for (const other of this.ctx.getWebSockets(HOST_TAG)) {
        if (other !== ws && hostOf(other)?.host_id === msg.host_id) other.close(4000, "replaced by a newer connection of this host");
      }
      setHost(ws, {
        host_id: msg.host_id,
        hostname: msg.hostname,
        version: msg.version,
        slots: msg.slots,
        credit: Math.max(0, msg.slots - msg.running.length),
        connected_at: new Date().toISOString(),
      });
      this.send(ws, { type: "welcome", agent: this.profile()!.name, host_id: msg.host_id });
    } else if (!host) {
      return ws.close(1008, "say hello first");
    } else if (msg.type === "credit") {
      setHost(ws, { ...host, credit: Math.min(host.slots, host.credit + msg.n) });
    } else {
      this.requeue(msg.run_id, msg.attempt);
      setHost(ws, { ...host, credit: 0 });
    }
    await this.dispatch();
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code);
    } catch {
      /* already closed */
    }
  }

  /** Hands queued runs to hosts with free slots, oldest first, until one side runs out. */
  private async dispatch(): Promise<void> {
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.dispatchAgain = false;
        const p = this.profile();
        if (!p) return;
        for (const { ws } of hostsWithCredit(this.ctx.getWebSockets(HOST_TAG))) {
          for (;;) {
            // Re-read each time: a credit message may have landed while a token was being signed.
            const host = hostOf(ws);
            if (!host || host.credit <= 0) break;
            const next = this.sql
              .exec<{ run_id: string; attempts: number; job: string }>("SELECT run_id, attempts, job FROM queue ORDER BY seq LIMIT 1")
              .toArray()[0];
            if (!next) break;
            const attempt = next.attempts + 1;
            const job = JSON.parse(next.job) as QueuedJob;
            this.ctx.storage.transactionSync(() => {
              this.sql.exec("DELETE FROM queue WHERE run_id = ?", next.run_id);
              this.sql.exec(
                "INSERT INTO leases (run_id, attempt, host_id, job, assigned_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET attempt = excluded.attempt, host_id = excluded.host_id, assigned_at = excluded.assigned_at",
                next.run_id, attempt, host.host_id, next.job, Date.now(),
              );
            });
            setHost(ws, { ...host, credit: host.credit - 1 });
            const token = await signToken(
              this.env.TETHER_SIGNING_KEY,
              { kind: "run", ws: p.workspace, agent: p.name, run: next.run_id, attempt },
              Math.ceil(job.timeout_ms / 1000) + RUN_TOKEN_GRACE_S,
            );
            this.send(ws, { type: "assign", run_id: next.run_id, attempt, token, job });
          }
        }
      } while (this.dispatchAgain);
    } finally {
      this.dispatching = false;
    }
  }

  private requeue(runId: string, attempt: number): void {
    const lease = this.sql.exec<{ job: string }>("SELECT job FROM leases WHERE run_id = ? AND attempt = ?", runId, attempt).toArray()[0];
    if (!lease) return;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM leases WHERE run_id = ?", runId);
      // Back to the head of the line, keeping its attempt count so the next number is fresh.
      this.sql.exec("INSERT INTO queue (seq, run_id, attempts, job, enqueued_at) VALUES ((SELECT COALESCE(MIN(seq), 1) - 1 FROM queue), ?, ?, ?, ?)", runId, attempt, lease.job, Date.now());
    });
  }

  private send(ws: WebSocket, msg: EdgeToHost): void {
    try {
      ws.send(JSON.stringify(msg));
    } catch {
      /* closed; the host reconnects and says hello again */
    }
  }

  private profile(): Profile | null {
    return this.sql.exec<Profile>("SELECT workspace, name, created_at, host_token_gen FROM profile WHERE id = 1").toArray()[0] ?? null;
  }

  private hostToken(p: Profile): Promise<string> {
    return signToken(this.env.TETHER_SIGNING_KEY, { kind: "host", ws: p.workspace, agent: p.name, gen: p.host_token_gen });
  }

  private view(): AgentView | null {
    const p = this.profile();
    if (!p) return null;
    const hosts = this.ctx
      .getWebSockets(HOST_TAG)
      .map(hostOf)
      .filter((h): h is HostInfo => h !== undefined)
      .map(({ credit, ...h }) => ({ ...h, free: credit }));
    const count = (table: string) => this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
    return { name: p.name, created_at: p.created_at, hosts, queued: count("queue"), running: count("leases") };
  }
}
