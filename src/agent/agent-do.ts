import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { signingKeys } from "../auth/keys.js";
import { signToken, type EnrollClaims, type HostClaims } from "../auth/tokens.js";
import { CLAIMS_HEADER, runStub, type Env } from "../env.js";
import type { AgentView, EnrolledHost } from "../protocol/agent.js";
import type { AgentStatus } from "../protocol/agent-status.js";
import type { AgentConfigPatch } from "../protocol/agent-config.js";
import { isTerminal, type JobSpec, type Run } from "../protocol/run.js";
import type { RunChange } from "../protocol/run-change.js";
import { CLOSE_REVOKED } from "../protocol/version.js";
import type { StreamEnd } from "../protocol/stream.js";
import type { NewSchedule, SchedulePatch } from "../schedules/input.js";
import { SubmitRate } from "./rate-limit.js";
import { Submitter } from "./submitter.js";
import { AgentSecrets, SecretsNotConfigured } from "./secrets.js";
import type { SecretView } from "../protocol/secret.js";
import { Schedules } from "../schedules/schedules.js";
import { closeBack } from "../sockets.js";
import { forgetOnRollback } from "../storage/rollback.js";
import { hasSchema, migrate } from "../storage/schema.js";
import { Dispatcher } from "./dispatch.js";
import { Enrollment } from "./enrollment.js";
import { HostSockets } from "./host-socket.js";
import { hostOf, Hosts } from "./hosts.js";
import { INDEX_TIMER, IndexOutbox } from "./index-outbox.js";
import { RunWaiters, type Waited } from "./run-waiters.js";
import { Lifecycle } from "./lifecycle/apply.js";
import { OUTBOX_TIMER, Outbox } from "./outbox.js";
import { ProfileStore } from "./profile.js";
import { Retention, RETENTION_TIMER } from "./retention.js";
import type { Refused, SubmitOptions, Submitted } from "./run-plan.js";
import { ObjectState, publicRun, RunStore } from "./run-store.js";
import { AGENT_SCHEMA, type Profile } from "./schema.js";
import { agentStatus } from "./status.js";
import { Timers } from "./timers.js";

const Attempt = z.object({ attempt: z.number().int() });
const Anything = z.unknown();

/** Where a run's output and events are read: its object, its object if it has one yet, or the agent's changes. */
export type RunObject = "exists" | "maybe" | "none";

/** What a host may do on a run's output stream, as the run's object asks it. */
export interface StreamGrant {
  ok: boolean;
  /** Why not, when not. */
  why: string;
  /** The run's changes its object has not confirmed. */
  changes: RunChange[];
}

/**
 * One agent: its profile, its hosts, its schedules, and the whole life of its runs. Every run
 * decision is made here, in one transaction with its lease and queue change; the runs' own
 * objects hold their output and watchers and learn each change through the outbox.
 */
export class AgentDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** False until the agent is first created: reads of an agent that never existed write nothing. */
  private ready: boolean;
  private readonly timers: Timers;
  private readonly store: RunStore;
  private readonly hosts: Hosts;
  private readonly profiles: ProfileStore;
  private readonly enrollment: Enrollment;
  private readonly lifecycle: Lifecycle;
  private readonly outbox: Outbox;
  private readonly dispatcher: Dispatcher;
  private readonly sockets: HostSockets;
  private readonly retention: Retention;
  private readonly schedules: Schedules;
  private readonly secrets: AgentSecrets;
  /** Runs whose changes go back to their object in the answer to its own call (endAttempt). */
  private readonly replying = new Set<string>();
  /**
   * Running attempts ("run#attempt") whose output stream was opened since this object started:
   * their end must come on the stream, behind their output. Memory only, as what it guards is
   * only a host that would report on the control socket after streaming.
   */
  private readonly streamed = new Set<string>();
  /**
   * Running attempts that started since this object did. A stream is opened through this object
   * (openStream), so one of these that has not opened it made no run object: a read need not
   * ask for one, which would make its file. Memory only: after a restart the object is asked.
   */
  private readonly startedHere = new Set<string>();
  private readonly index: IndexOutbox;
  private readonly waiters = new RunWaiters();
  private readonly rate = new SubmitRate();
  private readonly submitter: Submitter;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.ready = hasSchema(ctx.storage);
    if (this.ready) migrate(ctx.storage, AGENT_SCHEMA);
    this.timers = new Timers(ctx.storage);
    this.store = new RunStore(this.sql);
    forgetOnRollback(ctx.storage, () => {
      this.store.forgetCounts();
      this.timers.forget();
      this.index?.forget();
    });
    this.hosts = new Hosts(ctx);
    this.profiles = new ProfileStore(this.sql);
    this.secrets = new AgentSecrets(this.sql, () => env.TETHER_SECRETS_KEY, () => {
      const p = this.profiles.owner();
      return `${p?.workspace}:${p?.name}`;
    });
    this.enrollment = new Enrollment(this.sql);
    this.outbox = new Outbox(env, this.store, this.timers, () => this.profiles.owner()?.workspace ?? null);
    this.lifecycle = new Lifecycle({
      storage: ctx.storage,
      store: this.store,
      timers: this.timers,
      hosts: this.hosts,
      config: () => this.profiles.config(),
      afterCommit: (run, row, t) => {
        const now = Date.now();
        if (isTerminal(run.status)) this.waiters.settle(run.id, publicRun(run));
        if (row.status === "running" && run.status !== "running") {
          this.streamed.delete(`${run.id}#${row.attempt}`);
          this.startedHere.delete(`${run.id}#${row.attempt}`);
        } else if (run.status === "running" && row.status !== "running") this.startedHere.add(`${run.id}#${run.attempt}`);
        if (t.effects.some((e) => e.type === "settled")) {
          this.retention.soon(now);
          // Only a schedule's runs have a schedule waiting on their end: a statement saved on every other run's.
          if (run.schedule_id !== null) ctx.waitUntil(this.schedules.runSettled(run.id));
        }
        // A run without an object has no watcher and no stream to tell: its changes wait here until one is made.
        if (row.has_object === ObjectState.EXISTS) {
          this.outbox.backstop(now);
          // What watchers and the attempt's stream must hear now. An end its run's object reported hears its changes in the reply: no push for it.
          if ((run.status !== "running" || run.cancel_requested) && !this.replying.has(run.id)) ctx.waitUntil(this.outbox.push(run.id).catch(() => undefined));
        }
        // A run queued, or a place freed (a slot, a concurrency key's room, max_concurrent): the queue may move.
        if (run.status === "queued" || (row.status === "running" && run.status !== "running")) ctx.waitUntil(this.dispatch());
      },
    });
    this.dispatcher = new Dispatcher(env, this.hosts, this.store, this.lifecycle, this.outbox, () => this.profile(), (names) => this.secrets.reveal(names), () => this.profiles.config().max_concurrent);
    this.sockets = new HostSockets({
      env,
      hosts: this.hosts,
      store: this.store,
      timers: this.timers,
      lifecycle: this.lifecycle,
      enrollment: this.enrollment,
      profile: () => this.profile(),
      leaseTtl: () => this.profiles.config().lease_ttl_ms,
      config: () => this.profiles.config(),
      approvalTtl: () => this.profiles.config().approval_timeout_ms,
      dispatch: () => this.dispatch(),
      hostsChanged: () => this.index.markAgent(),
      streamed: (id, attempt) => this.streamed.has(`${id}#${attempt}`),
    });
    this.retention = new Retention(env, this.sql, this.store, this.timers, () => this.profiles.owner()?.workspace ?? null, () => this.profiles.config().retention_days, () => this.profiles.config().idempotency_ttl_s);
    this.submitter = new Submitter({
      sql: this.sql, storage: ctx.storage, store: this.store, hosts: this.hosts, rate: this.rate, secrets: this.secrets, timers: this.timers,
      lifecycle: this.lifecycle, retention: this.retention, profile: () => this.profile(), config: () => this.profiles.config(), dispatch: () => this.dispatch(),
    });
    this.index = new IndexOutbox(env.INDEX, {
      sql: this.sql,
      store: this.store,
      timers: this.timers,
      workspace: () => this.profiles.owner()?.workspace ?? null,
      agent: () => this.indexRow(),
    });
    this.store.indexer = this.index;
    this.schedules = new Schedules(ctx.storage, env, this.timers, { profile: () => this.profile(), submit: async (job, opts) => orNull(await this.submit(job, opts)), runStatus: (id) => this.store.record(id)?.status ?? null });
    const runOf = (key: string) => key.slice(key.indexOf(":") + 1);
    this.timers.on("lease", Attempt, (d, t, now) => this.sockets.checkLease(runOf(t.key), d.attempt, now));
    this.timers.on("deadline", Attempt, (d, t, now) => void this.lifecycle.apply(runOf(t.key), { type: "expired", attempt: d.attempt }, now));
    this.timers.on("queue_timeout", z.object({ ms: z.number() }), (d, t, now) => {
      this.lifecycle.apply(runOf(t.key), { type: "queue_timeout", why: `waited in the queue longer than queue_timeout_ms (${d.ms} ms)` }, now);
    });
    this.timers.on("approval", Anything, (_d, t, now) => void this.lifecycle.apply(runOf(t.key), { type: "approval_expired" }, now));
    this.timers.on("retry", Anything, () => undefined); // the run is in the queue already; dispatch follows the alarm
    this.timers.on("start_rate", Anything, () => undefined); // likewise: a start left its key's window
    this.timers.on(OUTBOX_TIMER, Anything, (_d, _t, now) => this.outbox.flush(now));
    this.timers.on(INDEX_TIMER, Anything, () => this.index.onTimer());
    this.timers.on(RETENTION_TIMER, Anything, (_d, _t, now) => this.retention.sweep(now));
    this.timers.on("schedule", Anything, (_d, t) => this.schedules.onTimer(t));
    this.timers.on("schedule-sync", Anything, (_d, t) => this.schedules.onTimer(t));
  }

  // ---- RPC: the agent ----

  /** Creates the agent; null when it exists already. */
  async create(workspace: string, name: string, config: AgentConfigPatch = {}): Promise<{ agent: AgentView; host_token: string } | null> {
    if (!this.ready) {
      migrate(this.ctx.storage, AGENT_SCHEMA);
      this.ready = true;
    }
    if (this.profile()) return null;
    const p = this.profiles.create(workspace, name, config);
    this.index.markAgent();
    return { agent: this.view()!, host_token: await this.enrollToken(p) };
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

  /** A new enrollment token; tokens minted before stop enrolling. Enrolled hosts keep their own credentials. */
  async rotateHostToken(): Promise<string | null> {
    if (!this.profile()) return null;
    return this.enrollToken(this.profiles.nextTokenGeneration());
  }

  async listHosts(): Promise<EnrolledHost[] | null> {
    if (!this.profile()) return null;
    return this.enrollment.list((id) => this.hosts.socketOf(id) !== undefined);
  }

  /** Revokes one host: its credential stops working, its connection closes, what it holds is lost. */
  async revokeHost(hostId: string): Promise<boolean | null> {
    if (!this.profile()) return null;
    if (!this.enrollment.revoke(hostId)) return false;
    this.sockets.revoke(hostId);
    return true;
  }

  /**
   * Deletes the agent in one transaction: every run it still has ends cancelled (a running one's
   * host is told to stop), its schedules and hosts go, and no token of this life of it works
   * again. The runs stay readable until their retention ends.
   */
  async destroy(): Promise<boolean> {
    if (!this.profile()) return false;
    const now = Date.now();
    await this.schedules.forgetAll();
    this.ctx.storage.transactionSync(() => {
      for (const row of this.store.active()) {
        this.lifecycle.apply(row.id, { type: "cancel", reason: "agent deleted" }, now);
        if (row.status === "running") this.lifecycle.apply(row.id, { type: "lost", attempt: row.attempt, why: "the agent was deleted" }, now);
      }
      this.schedules.removeAll();
      this.enrollment.revokeAll();
      this.profiles.remove();
      this.index.markAgent();
    });
    this.hosts.closeAll(CLOSE_REVOKED, "agent deleted");
    return true;
  }

  // ---- RPC: runs ----

  /** Creates a run and queues it; a host with a free slot gets it at once. Null: no such agent. */
  async submit(job: JobSpec, opts: SubmitOptions = {}): Promise<Submitted | Refused | null> {
    return this.submitter.submit(job, opts);
  }

  /** A run submitted by a running job with its own token (see Submitter.submitChild). */
  async submitChild(parentId: string, job: JobSpec, opts: SubmitOptions = {}): Promise<Submitted | Refused | null> {
    return this.submitter.submitChild(parentId, job, opts);
  }

  /** Many submits in one call and one commit, each answered on its own (see Submitter.submitMany). */
  async submitMany(items: { job: JobSpec; opts: SubmitOptions }[], parentId: string | null = null): Promise<(Submitted | Refused)[] | null> {
    return this.submitter.submitMany(items, parentId);
  }

  async children(id: string): Promise<Run[] | null> {
    if (!this.ready || !this.store.row(id)) return null;
    return this.store.children(id).map(publicRun);
  }

  async getRun(id: string): Promise<Run | null> {
    if (!this.ready) return null;
    const r = this.store.record(id);
    return r ? publicRun(r) : null;
  }

  /** The run once it has ended, or after `timeoutMs` as it is then; null: no such run; `full`: too many clients wait. */
  async waitRun(id: string, timeoutMs: number): Promise<Waited | null> {
    if (!this.ready) return null;
    const r = this.store.record(id);
    if (!r) return null;
    if (isTerminal(r.status) || timeoutMs <= 0) return { run: publicRun(r) };
    return this.waiters.wait(id, timeoutMs, () => publicRun(this.store.record(id) ?? r));
  }

  /** Idempotent: a run that already ended is returned unchanged; a queued one ends now, a running one is told to stop. */
  async cancelRun(id: string, reason: string): Promise<Run | null> {
    if (!this.ready) return null;
    this.ctx.storage.transactionSync(() => this.submitter.cancelTree(id, reason));
    return this.getRun(id);
  }

  // ---- RPC: secrets (write-only) ----

  /** Seals and stores a secret, or says why not: no such agent, or a deployment with no key to seal it. */
  async putSecret(name: string, value: string): Promise<{ stored: true } | { stored: false; status: 404 | 501; detail: string }> {
    const p = this.profile();
    if (!p) return { stored: false, status: 404, detail: "agent does not exist" };
    try {
      await this.secrets.put(name, value, Date.now());
    } catch (err) {
      if (err instanceof SecretsNotConfigured) return { stored: false, status: 501, detail: err.message };
      throw err;
    }
    return { stored: true };
  }

  async listSecrets(): Promise<SecretView[] | null> {
    return this.profile() ? this.secrets.list() : null;
  }

  async deleteSecret(name: string): Promise<boolean | null> {
    return this.profile() ? this.secrets.remove(name) : null;
  }

  /** A person's answer to a run awaiting approval: the run as it now is, or why the answer changes nothing. */
  async answerApproval(id: string, answer: "approve" | "deny", by: string, note: string | null): Promise<{ run: Run } | { why: string } | null> {
    if (!this.ready || !this.store.row(id)) return null;
    const t = this.lifecycle.apply(id, { type: answer, by, note });
    if (!t.ok) return { why: t.why };
    return { run: (await this.getRun(id))! };
  }

  /**
   * For reads of a run's output and events: the run, and the changes its object has not confirmed.
   * `create` gives a run that has no object yet one (a watcher needs it); otherwise none is made.
   */
  async runObject(id: string, create: boolean): Promise<{ run: Run; object: RunObject; changes: RunChange[] } | null> {
    if (!this.ready) return null;
    const row = this.store.row(id);
    if (!row) return null;
    if (create && row.has_object !== ObjectState.EXISTS) this.markObject(id);
    const attempt = `${id}#${row.attempt}`;
    const unmade = row.has_object === ObjectState.NONE || (row.has_object === ObjectState.MAYBE && this.startedHere.has(attempt) && !this.streamed.has(attempt));
    const object = create || row.has_object === ObjectState.EXISTS ? "exists" : unmade ? "none" : "maybe";
    return { run: publicRun(JSON.parse(row.body)), object, changes: this.store.pendingChanges(id) };
  }

  /** Why this host may not stream this attempt, or null: only the host that was given it may. */
  private streamRefusal(id: string, attempt: number, hostId: string, gen: number): string | null {
    if (!this.ready) return `no run ${id}`;
    if (!this.enrollment.valid(hostId, gen)) return `the credential of host ${hostId} was revoked or replaced`;
    if (this.store.hostOfAttempt(id, attempt) !== hostId) return `attempt ${attempt} of ${id} was not given to host ${hostId}`;
    return null;
  }

  /** Records that the run has an object, to which its changes are owed from now on; the backstop cleans them up once it has them. */
  private markObject(id: string): void {
    this.store.markHasObject(id);
    this.outbox.backstop(Date.now());
  }

  /** A host opens an attempt's output stream. */
  async openStream(id: string, attempt: number, hostId: string, gen: number): Promise<StreamGrant> {
    const why = this.streamRefusal(id, attempt, hostId, gen);
    if (why) return { ok: false, why, changes: [] };
    // The run has an object from now on. An attempt's start said it may (MAYBE), at no cost; its
    // end says it does, in the end's own commit. A run marked as having none (an attempt started
    // before runs were marked at their start) is marked now.
    if (this.store.row(id)?.has_object === ObjectState.NONE) this.markObject(id);
    this.streamed.add(`${id}#${attempt}`);
    return { ok: true, why: "", changes: this.store.pendingChanges(id) };
  }

  /** An attempt's end report, after its last byte of output was stored: decides the run's next state. */
  async endAttempt(id: string, attempt: number, hostId: string, gen: number, end: StreamEnd): Promise<StreamGrant> {
    const why = this.streamRefusal(id, attempt, hostId, gen);
    if (why) return { ok: false, why, changes: [] };
    this.streamed.delete(`${id}#${attempt}`);
    const row = this.store.row(id)!;
    if (row.has_object !== ObjectState.EXISTS) this.markObject(id);
    // An attempt the edge already ended (lost, timed out) keeps that decision; the report is only acknowledged.
    if (row.status === "running" && row.attempt === attempt && row.host_id === hostId) {
      const { reason, exit_code, signal, error, result = null, result_error = null } = end;
      this.replying.add(id);
      try {
        this.lifecycle.apply(id, { type: "ended", attempt, end: { reason, exit_code, signal, error, result, result_error } });
      } finally {
        this.replying.delete(id);
      }
    }
    return { ok: true, why: "", changes: this.store.pendingChanges(id) };
  }

  /**
   * Removes an ended run: its record, its output (the run's object is purged) and its index row.
   * "live" for a run still queued or running: cancel it first.
   */
  async deleteRun(id: string): Promise<"deleted" | "live" | null> {
    if (!this.ready) return null;
    const row = this.store.row(id);
    if (!row) return null;
    if (!isTerminal(row.status)) return "live";
    const ws = this.profiles.owner()!.workspace;
    this.ctx.storage.transactionSync(() => {
      this.store.remove(id);
      this.sql.exec("DELETE FROM idempotency WHERE run_id = ?", id);
      // The purge is owed until it is done: a failure here is retried by the retention sweep.
      if (row.has_object) this.sql.exec("INSERT OR IGNORE INTO purges (run_id) VALUES (?)", id);
    });
    if (row.has_object) {
      try {
        await runStub(this.env, ws, id).purge();
        this.sql.exec("DELETE FROM purges WHERE run_id = ?", id);
      } catch {
        this.timers.set(RETENTION_TIMER, RETENTION_TIMER, Date.now() + 1_000);
      }
    }
    return "deleted";
  }

  async status(): Promise<AgentStatus | null> {
    const p = this.profile();
    return p ? agentStatus(p.name, this.sql, this.hosts, Date.now()) : null;
  }

  /** Index marks not yet in D1 (tests and the bench wait on it). */
  async indexPending(): Promise<number> {
    return this.ready ? this.index.pending() : 0;
  }

  /** Flushes the index now; false when D1 refused (the alarm retries). */
  async flushIndex(): Promise<boolean> {
    if (!this.ready) return true;
    return this.index.flush().then(() => true, () => false);
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

  // ---- timers and hosts ----

  override async alarm(): Promise<void> {
    if (!this.ready) return;
    this.timers.fired();
    await this.timers.runDue(Date.now());
    await this.dispatch();
  }

  override async fetch(request: Request): Promise<Response> {
    const claims = JSON.parse(request.headers.get(CLAIMS_HEADER) ?? "null") as EnrollClaims | HostClaims | null;
    if (!claims || !this.ready) return new Response("no such agent", { status: 404 });
    return this.sockets.accept(claims);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.sockets.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeBack(ws, code);
    this.hosts.forget();
    this.sockets.closed(ws);
  }

  override async webSocketError(): Promise<void> {
    this.hosts.forget();
  }

  private dispatch(): Promise<void> {
    return this.dispatcher.run();
  }

  private profile(): Profile | null {
    return this.ready ? this.profiles.get() : null;
  }

  private enrollToken(p: Profile): Promise<string> {
    return signToken(signingKeys(this.env), { kind: "enroll", ws: p.workspace, agent: p.name, gen: p.host_token_gen, inc: p.incarnation });
  }

  private indexRow() {
    const p = this.profiles.owner();
    if (!p) return null;
    const hosts = this.hosts.all().filter((ws) => hostOf(ws) !== undefined).length;
    return { summary: { name: p.name, created_at: p.created_at, hosts, updated_at: new Date().toISOString(), ...this.store.counts() }, deleted: p.deleted === 1 };
  }

  private view(): AgentView | null {
    const p = this.profile();
    if (!p) return null;
    return { name: p.name, created_at: p.created_at, config: this.profiles.config(), hosts: this.hosts.views(), ...this.store.counts() };
  }
}

/** A schedule's job was checked when the schedule was made; a refusal here is as good as no agent. */
const orNull = (r: Submitted | Refused | null): Submitted | null => (r && "refused" in r ? null : r);
