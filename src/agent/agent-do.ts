import { DurableObject } from "cloudflare:workers";
import { signToken, type HostClaims } from "../auth/tokens.js";
import { CLAIMS_HEADER, runStub, type Env } from "../env.js";
import type { AgentView } from "../protocol/agent.js";
import type { AgentConfigPatch } from "../protocol/agent-config.js";
import { HostMessage } from "../protocol/host.js";
import { newRunId } from "../protocol/ids.js";
import type { JobSpec, Run } from "../protocol/run.js";
import type { NewSchedule, SchedulePatch } from "../schedules/input.js";
import { Schedules } from "../schedules/schedules.js";
import type { RunInit } from "../run/record.js";
import type { AttemptSettled } from "../run/run-do.js";
import { closeBack } from "../sockets.js";
import { migrate } from "../storage/schema.js";
import { hostOf, Hosts, setHost } from "./hosts.js";
import { deadlineTimer, leaseTimer, Leases, pendingTimer, queueTimeoutTimer, retryTimer, type Lease } from "./leases.js";
import { ProfileStore } from "./profile.js";
import { planRun, type QueuedJob, type SubmitOptions, type Submitted } from "./run-plan.js";
import { AGENT_SCHEMA, type Profile } from "./schema.js";
import { Timers, type Timer } from "./timers.js";

/** How long a submit may take before it is taken as failed. */
const PENDING_SWEEP_MS = 30_000;

/** Run tokens outlive the run's timeout by a day, enough to deliver the last output. */
const RUN_TOKEN_GRACE_S = 24 * 3600;
/** The host kills at the timeout and reports; the edge steps in only if no report came by then. */
const DEADLINE_GRACE_MS = 30_000;

/** One agent: its profile, its queue, its connected hosts and the leases they hold. */
export class AgentDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly timers: Timers;
  private readonly leases: Leases;
  private readonly schedules: Schedules;
  /** What each kind of timer does when it comes due; every handler must be safe to run twice. */
  private readonly onTimer: Record<string, (t: Timer, now: number) => Promise<void>> = {};
  private readonly hosts: Hosts;
  private readonly profiles: ProfileStore;
  private dispatching = false;
  private dispatchAgain = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrate(ctx.storage, AGENT_SCHEMA);
    this.timers = new Timers(ctx.storage);
    this.leases = new Leases(this.sql);
    this.hosts = new Hosts(ctx);
    this.profiles = new ProfileStore(this.sql);
    this.onTimer.lease = (t, now) => this.checkLease(t, now);
    this.onTimer.deadline = (t) => this.expire(t);
    this.onTimer.queue_timeout = (t) => this.queueTimeout(t);
    this.onTimer.pending = (t) => this.sweepPending(t);
    this.onTimer.retry = async (t) => this.timers.clear(t.key); // the run is in the queue already; dispatch follows
    this.schedules = new Schedules(ctx.storage, env, this.timers, { profile: () => this.profile(), submit: (job, opts) => this.submit(job, opts) });
    this.onTimer.schedule = (t) => this.schedules.onTimer(t);
  }

  // ---- RPC: the agent ----

  /** Creates the agent; null when it exists already. */
  async create(workspace: string, name: string, config: AgentConfigPatch = {}): Promise<{ agent: AgentView; host_token: string } | null> {
    if (this.profile()) return null;
    const p = this.profiles.create(workspace, name, config);
    return { agent: this.view()!, host_token: await this.hostToken(p) };
  }

  async get(): Promise<AgentView | null> {
    return this.view();
  }

  /** Changes the agent's settings; fields left out keep their value. */
  async configure(patch: AgentConfigPatch): Promise<AgentView | null> {
    if (!this.profile()) return null;
    this.profiles.configure(patch);
    return this.view();
  }

  /** A new host token; tokens minted before stop working and their hosts are disconnected. */
  async rotateHostToken(): Promise<string | null> {
    if (!this.profile()) return null;
    const p = this.profiles.nextTokenGeneration();
    this.hosts.closeAll(4001, "host token rotated");
    return this.hostToken(p);
  }

  /** Deletes the agent: its waiting and running runs are cancelled, its hosts disconnected. */
  async destroy(): Promise<boolean> {
    const p = this.profile();
    if (!p) return false;
    await this.schedules.forgetAll();
    const runs = this.sql.exec<{ run_id: string }>("SELECT run_id FROM queue UNION SELECT run_id FROM leases").toArray();
    this.hosts.closeAll(4004, "agent deleted");
    // Each run withdraws itself from the queue, or tells its host to stop, before the state goes.
    await Promise.all(runs.map((r) => runStub(this.env, p.workspace, r.run_id).cancel("agent deleted").catch(() => null)));
    await this.ctx.storage.deleteAll();
    this.timers.forget();
    migrate(this.ctx.storage, AGENT_SCHEMA);
    this.profiles.changed();
    return true;
  }

  // ---- RPC: runs ----

  /** Creates a run and queues it; a host with a free slot gets it at once. Null: no such agent. */
  async submit(job: JobSpec, opts: SubmitOptions = {}): Promise<Submitted | null> {
    const p = this.profile();
    if (!p) return null;
    const key = opts.idempotency_key;
    if (key !== undefined) {
      const seen = this.sql.exec<{ run_id: string }>("SELECT run_id FROM idempotency WHERE key = ?", key).toArray()[0];
      const run = seen && (await this.createRun(p, seen.run_id));
      if (run) return { run, created: false };
    }
    const id = newRunId();
    const now = Date.now();
    const { queued, init } = planRun(p, this.config(), job, opts, id, now);
    // Claimed, queued and (below) handed to a host before the first await of the run's object:
    // only one disk sync stands before the assignment leaves. A concurrent submit with the same
    // key, or one repeated after the object restarted halfway, finds this run and finishes it.
    this.ctx.storage.transactionSync(() => {
      if (key !== undefined) this.sql.exec("INSERT OR REPLACE INTO idempotency (key, run_id, created_at) VALUES (?, ?, ?)", key, id, now);
      this.sql.exec("INSERT INTO pending (run_id, init, created_at) VALUES (?, ?, ?)", id, JSON.stringify(init), now);
      this.sql.exec("INSERT INTO queue (run_id, job, enqueued_at, ready_at) VALUES (?, ?, ?, ?)", id, JSON.stringify(queued), now, now);
      this.timers.set(pendingTimer(id), "pending", now + PENDING_SWEEP_MS);
      if (job.queue_timeout_ms !== undefined) {
        this.timers.set(queueTimeoutTimer(id), "queue_timeout", now + job.queue_timeout_ms, { run_id: id, ms: job.queue_timeout_ms });
      }
    });
    // The host may reach the run's object before it exists; it is told to come back (503).
    await this.dispatch();
    const run = (await this.createRun(p, id))!;
    await this.timers.arm();
    return { run, created: true };
  }

  /** Creates the run's object for a pending run; idempotent. */
  private async createRun(p: Profile, id: string): Promise<Run | null> {
    const pending = this.sql.exec<{ init: string }>("SELECT init FROM pending WHERE run_id = ?", id).toArray()[0];
    const stub = runStub(this.env, p.workspace, id);
    if (!pending) return stub.get();
    const run = await stub.init(JSON.parse(pending.init) as RunInit);
    this.sql.exec("DELETE FROM pending WHERE run_id = ?", id);
    this.timers.clear(pendingTimer(id));
    return run;
  }

  /**
   * A submit that never finished (the object restarted in between): its caller saw an error, so
   * the run must not go on behind its back. A host that took it is told to stop; the run ends
   * cancelled if its object exists.
   */
  private async sweepPending(t: Timer): Promise<void> {
    const id = t.key.slice("pending:".length);
    this.timers.clear(t.key);
    if (this.sql.exec("DELETE FROM pending WHERE run_id = ?", id).rowsWritten === 0) return;
    this.dequeue(id);
    const lease = this.leases.get(id);
    if (lease) {
      this.revoke(lease, "the submit did not complete");
      await this.release(id, lease.attempt, null);
    }
    await runStub(this.env, this.profile()!.workspace, id).expireQueued("the submit did not complete");
  }

  /** Takes a run out of the queue if no host has it yet. */
  async withdraw(runId: string): Promise<boolean> {
    const removed = this.dequeue(runId);
    if (removed) await this.schedules.runSettled(runId);
    return removed;
  }

  /** Takes a run out of the queue with the timers that only matter while it waits there. */
  private dequeue(runId: string): boolean {
    this.timers.clear(queueTimeoutTimer(runId));
    this.timers.clear(retryTimer(runId));
    return this.sql.exec("DELETE FROM queue WHERE run_id = ?", runId).rowsWritten > 0;
  }

  /** The run's object settled an attempt; the lease goes, and the run is queued again if it said so. */
  async attemptEnded(runId: string, attempt: number, retryDelayMs: number | null = null): Promise<void> {
    await this.release(runId, attempt, retryDelayMs);
  }

  /** Whether a connected host other than this one could take a retry. */
  async hasOtherHosts(hostId: string): Promise<boolean> {
    return this.hosts.othersThan(hostId);
  }

  /** Passes a cancel to the host holding the attempt (the run's object also says it on the attempt's stream). */
  async cancelAttempt(runId: string, attempt: number, reason: string): Promise<void> {
    const lease = this.leases.of(runId, attempt);
    if (lease) this.hosts.sendTo(lease.host_id, { type: "cancel", run_id: runId, attempt, reason });
  }

  // ---- RPC: schedules (src/schedules) ----

  createSchedule(input: NewSchedule) {
    return this.schedules.create(input);
  }
  getSchedule(id: string) {
    return this.schedules.get(id);
  }
  updateSchedule(id: string, patch: SchedulePatch) {
    return this.schedules.update(id, patch);
  }
  deleteSchedule(id: string) {
    return this.schedules.remove(id);
  }
  triggerSchedule(id: string) {
    return this.schedules.trigger(id);
  }
  async scheduleEvents(id: string) {
    return this.schedules.events(id);
  }

  // ---- timers ----

  override async alarm(): Promise<void> {
    this.timers.fired();
    const now = Date.now();
    for (const t of this.timers.due(now)) {
      const handler = this.onTimer[t.kind];
      if (handler) await handler(t, now);
      else this.timers.clear(t.key);
    }
    await this.timers.arm();
    await this.dispatch();
  }

  /**
   * A lease holds while its host is heard from within the TTL. A host that is gone gets one TTL
   * from when we first found it gone (after a restart of the control plane, too) to come back.
   */
  private async checkLease(t: Timer, now: number): Promise<void> {
    const { attempt } = JSON.parse(t.data) as { attempt: number };
    const lease = this.leases.of(t.key.slice("lease:".length), attempt);
    if (!lease) return this.timers.clear(t.key);
    const ttl = this.config().lease_ttl_ms;
    const ws = this.hosts.socketOf(lease.host_id);
    if (ws) {
      const seen = this.hosts.lastSeen(ws);
      if (now - seen < ttl) {
        this.leases.renew(lease.run_id, seen);
        return this.timers.set(t.key, "lease", seen + ttl, { attempt });
      }
      ws.close(4008, "silent for longer than the lease TTL");
      return this.lose(lease, `host ${lease.host_id} was silent for ${now - seen} ms (lease TTL ${ttl} ms)`);
    }
    const since = lease.missing_since ?? now;
    if (lease.missing_since === null) this.leases.markMissing(lease.run_id, now);
    if (now - since < ttl) return this.timers.set(t.key, "lease", since + ttl, { attempt });
    return this.lose(lease, `host ${lease.host_id} has been gone for ${now - since} ms (lease TTL ${ttl} ms)`);
  }

  private lose(lease: Lease, why: string): Promise<void> {
    return this.endAtEdge(lease, "lease lost", (run) => run.attemptLost(lease.attempt, why, this.hosts.othersThan(lease.host_id)));
  }

  private async expire(t: Timer): Promise<void> {
    const { attempt } = JSON.parse(t.data) as { attempt: number };
    const lease = this.leases.of(t.key.slice("deadline:".length), attempt);
    this.timers.clear(t.key);
    if (lease) await this.endAtEdge(lease, "timed out", (run) => run.attemptExpired(attempt));
  }

  /** Ends an attempt from here: its run's object settles it, its host is told to stop, the lease goes. */
  private async endAtEdge(lease: Lease, reason: string, settle: (run: ReturnType<typeof runStub>) => Promise<AttemptSettled | null>): Promise<void> {
    const settled = await settle(runStub(this.env, this.profile()!.workspace, lease.run_id));
    this.revoke(lease, reason);
    await this.release(lease.run_id, lease.attempt, settled?.retry_delay_ms ?? null);
  }

  private async queueTimeout(t: Timer): Promise<void> {
    const { run_id, ms } = JSON.parse(t.data) as { run_id: string; ms: number };
    if (!this.dequeue(run_id)) return;
    await runStub(this.env, this.profile()!.workspace, run_id).expireQueued(`waited in the queue longer than queue_timeout_ms (${ms} ms)`);
    await this.schedules.runSettled(run_id);
  }

  /** Lets go of a lease once (later calls for the same attempt do nothing), queueing the run again if asked. */
  private async release(runId: string, attempt: number, retryDelayMs: number | null): Promise<void> {
    const lease = this.leases.of(runId, attempt);
    if (!lease) return;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.leases.release(runId);
      this.timers.clear(leaseTimer(runId));
      this.timers.clear(deadlineTimer(runId));
      if (retryDelayMs === null) return;
      this.sql.exec(
        "INSERT INTO queue (run_id, attempts, job, enqueued_at, ready_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
        runId, attempt, lease.job, now, now + retryDelayMs,
      );
      if (retryDelayMs > 0) this.timers.set(retryTimer(runId), "retry", now + retryDelayMs);
    });
    await this.timers.arm();
    // Every way an attempt ends comes through here; a schedule waiting on this run hears at once.
    if (retryDelayMs === null) await this.schedules.runSettled(runId);
    await this.dispatch();
  }

  private revoke(lease: Lease, reason: string): void {
    this.hosts.sendTo(lease.host_id, { type: "revoke", run_id: lease.run_id, attempt: lease.attempt, reason });
  }

  // ---- hosts ----

  override async fetch(request: Request): Promise<Response> {
    const claims = JSON.parse(request.headers.get(CLAIMS_HEADER) ?? "null") as HostClaims | null;
    const p = this.profile();
    if (!claims || !p) return new Response("no such agent", { status: 404 });
    if (claims.gen !== p.host_token_gen) return new Response("this host token was rotated; use the new one", { status: 401 });
    return this.hosts.accept();
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
    const seen_at = Date.now();
    if (msg.type === "hello") {
      await this.hello(ws, msg);
    } else if (!host) {
      return ws.close(1008, "say hello first");
    } else if (msg.type === "credit") {
      if (!host.draining) setHost(ws, { ...host, seen_at, credit: Math.min(host.slots, host.credit + msg.n) });
    } else if (msg.type === "reject") {
      setHost(ws, { ...host, seen_at, credit: 0 });
      await this.release(msg.run_id, msg.attempt, 0);
    } else if (msg.type === "drain") {
      setHost(ws, { ...host, seen_at, credit: 0, draining: true });
    } else {
      for (const lease of this.leases.forHost(host.host_id)) await this.lose(lease, `host ${host.host_id} stopped`);
      ws.close(1000, "bye");
      return;
    }
    await this.dispatch();
  }

  /** A host (re)connects: it keeps the attempts whose leases are still its own and drops the rest. */
  private async hello(ws: WebSocket, msg: Extract<HostMessage, { type: "hello" }>): Promise<void> {
    const p = this.profile()!;
    const ttl = this.config().lease_ttl_ms;
    const now = Date.now();
    for (const other of this.hosts.all()) {
      if (other !== ws && hostOf(other)?.host_id === msg.host_id) other.close(4000, "replaced by a newer connection of this host");
    }
    let busy = 0;
    const reported = new Set<string>();
    const revoked: typeof msg.running = [];
    for (const r of msg.running) {
      reported.add(r.run_id);
      const lease = this.leases.of(r.run_id, r.attempt);
      if (lease && lease.host_id === msg.host_id) {
        this.leases.renew(r.run_id, now);
        this.timers.set(leaseTimer(r.run_id), "lease", now + ttl, { attempt: r.attempt });
        if (!r.exited) busy++;
      } else {
        revoked.push(r);
      }
    }
    setHost(ws, {
      host_id: msg.host_id,
      hostname: msg.hostname,
      version: msg.version,
      slots: msg.slots,
      credit: Math.max(0, msg.slots - busy),
      draining: false,
      connected_at: new Date(now).toISOString(),
      seen_at: now,
    });
    this.hosts.send(ws, { type: "welcome", agent: p.name, host_id: msg.host_id, ping_ms: Math.max(100, Math.min(5000, Math.floor(ttl / 3))) });
    for (const r of revoked) this.hosts.send(ws, { type: "revoke", run_id: r.run_id, attempt: r.attempt, reason: "its lease was lost while the host was away" });
    // Leases this host held but no longer reports: it lost them (it restarted), so they are lost now.
    for (const lease of this.leases.forHost(msg.host_id)) {
      if (!reported.has(lease.run_id)) await this.lose(lease, `host ${msg.host_id} came back without the attempt`);
    }
    await this.timers.arm();
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeBack(ws, code);
    const host = hostOf(ws);
    if (!host || this.hosts.socketOf(host.host_id, ws)) return;
    // The host is gone: its leases get one TTL from now for it to come back.
    const now = Date.now();
    const ttl = this.config().lease_ttl_ms;
    for (const lease of this.leases.forHost(host.host_id)) {
      this.leases.markMissing(lease.run_id, now);
      this.timers.set(leaseTimer(lease.run_id), "lease", now + ttl, { attempt: lease.attempt });
    }
    await this.timers.arm();
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
        const ttl = this.config().lease_ttl_ms;
        for (const ws of this.hosts.withCredit()) {
          for (;;) {
            // Re-read each time: a credit message may have landed while a token was being signed.
            const host = hostOf(ws);
            if (!host || host.credit <= 0 || host.draining) break;
            const now = Date.now();
            const next = this.sql
              .exec<{ run_id: string; attempts: number; job: string }>("SELECT run_id, attempts, job FROM queue WHERE ready_at <= ? ORDER BY seq LIMIT 1", now)
              .toArray()[0];
            if (!next) break;
            const attempt = next.attempts + 1;
            const job = JSON.parse(next.job) as QueuedJob;
            this.ctx.storage.transactionSync(() => {
              this.dequeue(next.run_id);
              this.leases.grant(next.run_id, attempt, host.host_id, next.job, now);
              this.timers.set(leaseTimer(next.run_id), "lease", now + ttl, { attempt });
              this.timers.set(deadlineTimer(next.run_id), "deadline", now + job.timeout_ms + DEADLINE_GRACE_MS, { attempt });
            });
            setHost(ws, { ...host, credit: host.credit - 1 });
            const token = await signToken(
              this.env.TETHER_SIGNING_KEY,
              { kind: "run", ws: p.workspace, agent: p.name, run: next.run_id, attempt },
              Math.ceil(job.timeout_ms / 1000) + RUN_TOKEN_GRACE_S,
            );
            this.hosts.send(ws, { type: "assign", run_id: next.run_id, attempt, token, job });
          }
        }
      } while (this.dispatchAgain);
      await this.timers.arm();
    } finally {
      this.dispatching = false;
    }
  }

  private profile(): Profile | null {
    return this.profiles.get();
  }

  private config() {
    return this.profiles.config();
  }

  private hostToken(p: Profile): Promise<string> {
    return signToken(this.env.TETHER_SIGNING_KEY, { kind: "host", ws: p.workspace, agent: p.name, gen: p.host_token_gen });
  }

  private view(): AgentView | null {
    const p = this.profile();
    if (!p) return null;
    const hosts = this.hosts.views();
    const queued = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM queue").one().n;
    return { name: p.name, created_at: p.created_at, config: this.config(), hosts, queued, running: this.leases.count() };
  }
}
