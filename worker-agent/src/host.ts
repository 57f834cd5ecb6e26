/**
 * The host's control connection to its agent: enroll, say hello, offer free slots as credits,
 * take assignments as they are pushed, reconnect with backoff when the connection drops, and
 * stop its own jobs when it has heard nothing from the edge for too long (its fence).
 */
import { hostname } from "node:os";
import WebSocket from "ws";
import { EdgeToHost, type Assign, type HostMessage, type HostPolicySummary } from "../../src/protocol/host.js";
import { CLOSE_PROTOCOL, CLOSE_REVOKED, PROTOCOL, PROTOCOL_FINISHED } from "../../src/protocol/version.js";
import { Attempt } from "./attempt.js";
import { Backoff } from "./backoff.js";
import { frameMask } from "./frame-mask.js";
import { approvalNeeded } from "./launch.js";
import type { Logger } from "./log.js";
import { Reaper } from "./reaper.js";
import { availableRunners } from "./runners.js";

export interface HostOptions {
  url: string;
  token: string;
  hostId: string;
  slots: number;
  graceMs: number;
  version: string;
  log: Logger;
  policy?: HostPolicySummary;
  /** The owner's labels for this host: runs that require labels come only to hosts that have them. */
  labels?: Record<string, string>;
  /** The edge refused this host for good (protocol, revoked, deleted agent): the process should exit saying why. */
  fatal(reason: string): void;
}

/**
 * A host that has heard nothing from the edge for half the lease TTL stops its jobs: SIGTERM, then
 * SIGKILL a quarter TTL later, so they are dead at 3/4 TTL, while the edge waits the TTL plus a
 * margin before it gives them to another host. A partition then never runs a job twice.
 */
const FENCE_AFTER = 0.5;
const FENCE_GRACE = 0.25;
/** How long a freed slot waits for an end report to ride on (see oweCredit). */
const CREDIT_HOLD_MS = 2;

export class Host {
  private ws: WebSocket | null = null;
  private readonly attempts = new Map<string, Attempt>();
  private readonly backoff = new Backoff(1_000, 60_000);
  private draining = false;
  private closed = false;
  private pinger: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private readonly agent: string;
  private onConnected: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];
  private exitWaiters: (() => void)[] = [];
  private readonly reaper = new Reaper();
  /** This host's own credential, given when it enrolled; until then it connects with the enrollment token. */
  private credential: string | null = null;
  private leaseTtlMs: number | null = null;
  private lastHeard = Date.now();
  private readonly runners = availableRunners();
  private fenceCheck: NodeJS.Timeout | null = null;
  /** The protocol the edge last welcomed this host with: from 3 on it takes ends on this socket. */
  private edgeProtocol = 0;
  private creditOwed = 0;
  private creditTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: HostOptions) {
    this.agent = agentOf(opts.token);
  }

  /** Resolves once the edge has welcomed this host the first time. */
  start(): Promise<void> {
    const connected = new Promise<void>((resolve) => (this.onConnected = resolve));
    this.connect();
    return connected;
  }

  /** Takes nothing new; running jobs go on. */
  drain(): void {
    this.draining = true;
    this.send({ type: "drain" });
  }

  cancelAll(reason: "agent_stop"): void {
    for (const a of this.attempts.values()) a.cancel(reason, "the host is stopping");
  }

  /** Last resort as the process exits: SIGKILL every job's process group, synchronously. */
  killAll(): void {
    for (const a of this.attempts.values()) a.kill();
  }

  /** Resolves when no attempt is owed to the edge any more. */
  idle(): Promise<void> {
    if (this.attempts.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves when no job process runs any more. */
  processesGone(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** Leaves cleanly: the edge releases whatever is left at once instead of waiting for the lease TTL. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.pinger) clearInterval(this.pinger);
    if (this.fenceCheck) clearInterval(this.fenceCheck);
    const ws = this.ws;
    if (ws?.readyState !== WebSocket.OPEN) return;
    await new Promise<void>((resolve) => {
      ws.send(JSON.stringify({ type: "bye" } satisfies HostMessage), () => resolve());
    });
    ws.close(1000, "host stopping");
  }

  get running(): number {
    let n = 0;
    for (const a of this.attempts.values()) if (a.running) n++;
    return n;
  }

  get pending(): number {
    return this.attempts.size;
  }

  private connect(): void {
    const url = new URL(`/v1/agents/${this.agent}/connect`, this.opts.url.replace(/^http/, "ws"));
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.credential ?? this.opts.token}` }, perMessageDeflate: false, ...frameMask(url.href) });
    this.ws = ws;
    ws.on("unexpected-response", (req, res) => {
      let body = "";
      res.on("data", (b: Buffer) => (body += b.toString()));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        const detail = problemDetail(body);
        if (status === 401 || status === 403 || status === 404) return this.opts.fatal(`the control plane refused this host (${status}): ${detail}`);
        this.opts.log(`connection refused (${status} ${detail})`);
      });
      req.destroy();
    });
    ws.on("open", () => {
      this.backoff.reset();
      const running = [...this.attempts.values()].map((a) => ({ run_id: a.runId, attempt: a.attempt, exited: !a.running, fenced: a.fenced }));
      this.send({
        type: "hello",
        protocol: PROTOCOL,
        host_id: this.opts.hostId,
        hostname: hostname(),
        version: this.opts.version,
        slots: this.opts.slots,
        running,
        runners: this.runners,
        labels: this.opts.labels ?? {},
        ...(this.opts.policy && { policy: this.opts.policy }),
      });
      if (this.draining) this.send({ type: "drain" });
    });
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      this.lastHeard = Date.now();
      const text = data.toString();
      if (text === "pong") return;
      let parsed;
      try {
        parsed = EdgeToHost.safeParse(JSON.parse(text));
      } catch {
        return;
      }
      if (!parsed.success) return this.opts.log(`ignored a message: ${parsed.error.issues[0]?.message}`);
      const msg = parsed.data;
      switch (msg.type) {
        case "welcome":
          if (msg.credential) this.credential = msg.credential;
          this.edgeProtocol = msg.protocol;
          // The hello said which slots are free: a credit owed from before would count one twice.
          this.takeCredit();
          for (const a of this.attempts.values()) a.resendEnd();
          this.watchFence(msg.lease_ttl_ms);
          this.opts.log(`connected to agent ${msg.agent} as ${msg.host_id} with ${this.opts.slots} slot(s)`);
          this.startPinging(ws, msg.ping_ms);
          this.onConnected?.();
          this.onConnected = null;
          return;
        case "assign":
          return this.take(msg);
        case "cancel":
          return this.find(msg.run_id, msg.attempt)?.cancel("cancelled", msg.reason);
        case "revoke":
          return this.find(msg.run_id, msg.attempt)?.revoke(msg.reason);
        case "finished":
          return this.find(msg.run_id, msg.attempt)?.finishedAcked(msg.stream === true);
      }
    });
    ws.on("error", (err) => this.opts.log(`connection: ${err.message}`));
    ws.on("close", (code, reason) => {
      if (this.pinger) clearInterval(this.pinger);
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed) return;
      if (code === CLOSE_PROTOCOL || code === CLOSE_REVOKED) return this.opts.fatal(reason.toString() || `closed with ${code}`);
      const delay = this.backoff.next();
      this.opts.log(`disconnected (${code} ${reason.toString() || "no reason"}); reconnecting in ${delay} ms`);
      this.retry = setTimeout(() => this.connect(), delay);
    });
  }

  /** Checks, well inside the TTL, whether the edge has gone quiet for long enough that the jobs must stop. */
  private watchFence(ttl: number): void {
    this.leaseTtlMs = ttl;
    if (this.fenceCheck) clearInterval(this.fenceCheck);
    this.fenceCheck = setInterval(() => this.fenceIfCutOff(), Math.max(50, Math.floor(ttl / 10)));
    this.fenceCheck.unref();
  }

  private fenceIfCutOff(): void {
    const ttl = this.leaseTtlMs;
    if (ttl === null) return;
    const silent = Date.now() - this.lastHeard;
    if (silent < ttl * FENCE_AFTER) return;
    for (const a of this.attempts.values()) {
      if (!a.running || a.fenced) continue;
      this.opts.log(`${a.runId}#${a.attempt}: nothing heard from the control plane for ${silent} ms (lease TTL ${ttl} ms): stopping the job before its lease runs out`);
      a.cancel("fenced", `no word from the control plane for ${silent} ms`, Math.floor(ttl * FENCE_GRACE));
    }
  }

  /** The socket is the heartbeat; the edge answers pings without waking up. */
  private startPinging(ws: WebSocket, ms: number): void {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), ms);
  }

  private find(runId: string, attempt: number): Attempt | undefined {
    const a = this.attempts.get(runId);
    return a && a.attempt === attempt ? a : undefined;
  }

  private take(msg: Assign): void {
    const held = this.attempts.get(msg.run_id);
    if (held && held.attempt < msg.attempt) held.abandon(); // a newer attempt of the same run fences the old one
    if (this.draining || this.closed || this.running >= this.opts.slots || this.attempts.has(msg.run_id)) {
      return this.send({ type: "reject", run_id: msg.run_id, attempt: msg.attempt, reason: this.draining ? "draining" : "no free slot" });
    }
    const ask = approvalNeeded(msg);
    if (ask) {
      this.opts.log(`${msg.run_id}#${msg.attempt} needs a person's approval: ${ask}`);
      return this.send({ type: "reject", run_id: msg.run_id, attempt: msg.attempt, reason: "awaiting approval", ask });
    }
    const key = msg.run_id;
    const attempt = new Attempt(msg, {
      baseUrl: this.opts.url,
      hostId: this.opts.hostId,
      graceMs: this.opts.graceMs,
      log: this.opts.log,
      reaper: this.reaper,
      credential: () => this.credential ?? this.opts.token,
      finishOnControl: (m) => {
        if (this.edgeProtocol < PROTOCOL_FINISHED) return false;
        // Not connected: the end goes when the edge has welcomed this host again (resendEnd).
        const credit = this.creditOwed;
        if (credit && this.ws?.readyState === WebSocket.OPEN) this.takeCredit();
        this.send(credit ? { ...m, credit } : m);
        return true;
      },
      onExit: () => {
        this.oweCredit();
        if (this.running === 0) for (const w of this.exitWaiters.splice(0)) w();
      },
      onDone: () => {
        if (this.attempts.get(key) === attempt) this.attempts.delete(key);
        if (this.attempts.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      },
    });
    this.attempts.set(key, attempt);
    attempt.start();
  }

  /**
   * A slot is free: said in a moment, so that the end report of a job that ends as it exits
   * carries it, and slots freed together go in one message.
   */
  private oweCredit(): void {
    this.creditOwed++;
    this.creditTimer ??= setTimeout(() => {
      const n = this.takeCredit();
      if (n) this.send({ type: "credit", n });
    }, CREDIT_HOLD_MS);
  }

  private takeCredit(): number {
    const n = this.creditOwed;
    this.creditOwed = 0;
    if (this.creditTimer) clearTimeout(this.creditTimer);
    this.creditTimer = null;
    return n;
  }

  private send(msg: HostMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }
}

/** The problem's detail, or the body as it came. */
function problemDetail(body: string): string {
  try {
    return (JSON.parse(body) as { detail?: string }).detail ?? body;
  } catch {
    return body.slice(0, 300);
  }
}

/** The agent this host serves is its enrollment token's claim. */
function agentOf(token: string): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { kind?: string; agent?: string };
    if ((payload.kind === "enroll" || payload.kind === "host") && payload.agent) return payload.agent;
  } catch {
    /* fall through */
  }
  throw new Error("the token is not a host token (create an agent to get one: tether agents create NAME)");
}
