/**
 * A host's control socket at its agent's object: who may open it, what its messages do, and how
 * its leases live while it is heard from. Every lease operation is checked against the host that
 * holds the lease, and a host id speaks only with that host's own credential.
 */
import { signingKeys } from "../auth/keys.js";
import { signToken, type EnrollClaims, type HostClaims } from "../auth/tokens.js";
import type { Env } from "../env.js";
import { HOST_MESSAGES, HostMessage, type HostFinished, type HostHello } from "../protocol/host.js";
import { LIMITS } from "../protocol/limits.js";
import { CLOSE_LIMIT, CLOSE_PROTOCOL, CLOSE_REVOKED, PROTOCOL, protocolProblem } from "../protocol/version.js";
import { MessageRate } from "../sockets.js";
import { fromBase64 } from "../protocol/base64.js";
import { outputBytes } from "../protocol/run-change.js";
import type { AgentConfig } from "../protocol/agent-config.js";
import type { Enrollment } from "./enrollment.js";
import { authOf, hostOf, setAuth, setHost, touchHost, type Hosts } from "./hosts.js";
import { LEASE_MARGIN_MS, TimerKey, type Lifecycle } from "./lifecycle/apply.js";
import { ObjectState, type RunStore } from "./run-store.js";
import type { Profile } from "./schema.js";
import type { Timers } from "./timers.js";

export interface HostSocketDeps {
  env: Env;
  hosts: Hosts;
  store: RunStore;
  timers: Timers;
  lifecycle: Lifecycle;
  enrollment: Enrollment;
  profile(): Profile | null;
  leaseTtl(): number;
  config(): AgentConfig;
  approvalTtl(): number;
  dispatch(): Promise<void>;
  /** A host came or went: the agent's row in the workspace index counts them. */
  hostsChanged(): void;
  /** Whether this attempt's output stream was opened (as far as this object has heard). */
  streamed(id: string, attempt: number): boolean;
}

export class HostSockets {
  private readonly rate = new MessageRate(LIMITS.socketMessagesPerS);

  constructor(private readonly d: HostSocketDeps) {}

  /** The Worker checked the token's signature; here, that it still speaks for this agent and host. */
  accept(claims: EnrollClaims | HostClaims): Response {
    const p = this.d.profile();
    if (!p) return new Response("no such agent", { status: 404 });
    if (claims.inc !== p.incarnation) return unauthorized("this token belongs to an earlier agent of this name; use the current agent's enrollment token");
    if (claims.kind === "enroll") {
      if (claims.gen !== p.host_token_gen) return unauthorized("this enrollment token was rotated; use the new one");
      return this.d.hosts.accept({ kind: "enroll" });
    }
    if (!this.d.enrollment.valid(claims.host, claims.gen)) {
      return unauthorized(`the credential of host ${claims.host} was revoked or replaced; restart tether-agent to enroll again`);
    }
    return this.d.hosts.accept({ kind: "host", host: claims.host, gen: claims.gen });
  }

  async message(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.rate.allow(ws)) return this.d.hosts.close(ws, CLOSE_LIMIT, `more than ${LIMITS.socketMessagesPerS} messages per second`);
    if (typeof message !== "string") return this.d.hosts.close(ws, CLOSE_LIMIT, "binary frames are not part of the control protocol");
    let json: unknown;
    try {
      json = JSON.parse(message);
    } catch {
      return this.d.hosts.close(ws, 1007, "a message is not JSON");
    }
    const type = (json as { type?: unknown } | null)?.type;
    // A message type from a newer host is ignored; a known one that is malformed is a fault.
    const schema = typeof type === "string" && Object.hasOwn(HOST_MESSAGES, type) ? HOST_MESSAGES[type as HostMessage["type"]] : null;
    if (typeof type === "string" && !schema) return;
    const parsed = (schema ?? HostMessage).safeParse(json);
    if (!parsed.success) return this.d.hosts.close(ws, 1008, `bad message: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    const msg = parsed.data;
    const host = hostOf(ws);
    const seen_at = Date.now();
    if (msg.type === "hello") {
      if (!(await this.hello(ws, msg))) return;
    } else if (!host) {
      return this.d.hosts.close(ws, 1008, "say hello first");
    } else if (msg.type === "credit") {
      const credit = Math.min(host.slots, host.credit + msg.n);
      // A credit that frees nothing (all its slots are free already, or it drains) changes nothing and wakes nothing.
      if (host.draining || credit === host.credit) return touchHost(ws, host, seen_at);
      setHost(ws, { ...host, seen_at, credit });
    } else if (msg.type === "reject") {
      // A host that asks for approval had the slot free: it keeps it. Any other refusal says it has none.
      setHost(ws, { ...host, seen_at, credit: msg.ask ? Math.min(host.slots, host.credit + 1) : 0 });
      const row = this.d.store.row(msg.run_id);
      // Only the holder of the lease may hand it back.
      if (row?.host_id === host.host_id) {
        const ask = msg.ask === undefined ? undefined : { why: msg.ask, ttl_ms: this.d.approvalTtl() };
        this.d.lifecycle.apply(msg.run_id, { type: "rejected", attempt: msg.attempt, reason: msg.reason, ...(ask && { ask }) });
      }
    } else if (msg.type === "finished") {
      if (msg.credit && !host.draining) setHost(ws, { ...host, seen_at, credit: Math.min(host.slots, host.credit + msg.credit) });
      else touchHost(ws, host, seen_at);
      // An end that frees a place wakes dispatch after its commit (the lifecycle's afterCommit); a credit alone does not.
      this.finished(ws, host.host_id, msg);
      if (!msg.credit) return;
    } else if (msg.type === "drain") {
      // A draining host is given nothing more: there is nothing to dispatch, the first time or the next.
      if (host.draining) return touchHost(ws, host, seen_at);
      return setHost(ws, { ...host, seen_at, credit: 0, draining: true });
    } else {
      for (const row of this.d.store.leasedBy(host.host_id)) this.d.lifecycle.apply(row.id, { type: "lost", attempt: row.attempt, why: `host ${host.host_id} stopped` });
      this.d.hosts.close(ws, 1000, "bye");
      return;
    }
    await this.d.dispatch();
  }

  /**
   * An attempt's end on the control socket: taken from the host holding its lease only, as on
   * the output stream; any other is only acknowledged, so a resend after a reconnect is harmless.
   * The answer goes out once the decision is durable (the output gate holds it until then).
   */
  private finished(ws: WebSocket, hostId: string, msg: HostFinished): void {
    let bytes = 0;
    for (const o of msg.output) bytes += fromBase64(o.data)?.byteLength ?? Infinity;
    if (bytes > LIMITS.controlOutputBytes) return this.d.hosts.close(ws, 1008, `bad message: finished carries output that is not base64 or more than ${LIMITS.controlOutputBytes} bytes`);
    const ack = { type: "finished", run_id: msg.run_id, attempt: msg.attempt } as const;
    const row = this.d.store.row(msg.run_id);
    if (row?.status === "running" && row.attempt === msg.attempt && row.host_id === hostId) {
      // An attempt that opened its output stream ends there, behind its output.
      if (this.d.streamed(row.id, msg.attempt)) return this.d.hosts.send(ws, { ...ack, stream: true });
      // A run without an object keeps its output here, whole: what would pass its cap goes by the stream, which cuts it.
      // Each earlier attempt kept at most what one end may carry: below the cap with that, nothing need be read.
      const cap = this.d.config().max_output_bytes;
      if (bytes && row.has_object !== ObjectState.EXISTS && bytes + (row.attempt - 1) * LIMITS.controlOutputBytes > cap && this.d.store.pendingChanges(row.id).reduce((n, c) => n + outputBytes(c), bytes) > cap) {
        return this.d.hosts.send(ws, { ...ack, stream: true });
      }
      const { reason, exit_code, signal, error, result = null, result_error = null } = msg;
      const end = { reason, exit_code, signal, error, result, result_error };
      this.d.lifecycle.applyTo(row, { type: "ended", attempt: msg.attempt, end, started: { pid: msg.pid, host_id: hostId } }, Date.now(), msg.output);
    }
    this.d.hosts.send(ws, ack);
  }

  /** A host (re)connects: it keeps the attempts whose leases are still its own and is told to stop the rest. */
  private async hello(ws: WebSocket, msg: HostHello): Promise<boolean> {
    const p = this.d.profile()!;
    const problem = protocolProblem(msg.protocol);
    if (problem) {
      this.d.hosts.close(ws, CLOSE_PROTOCOL, problem);
      return false;
    }
    let auth = authOf(ws)!;
    let credential: string | undefined;
    const other = this.d.hosts.socketOf(msg.host_id, ws);
    if (auth.kind === "enroll") {
      // A host id that is connected speaks only with its own credential: no one can push it out.
      if (other) {
        this.d.hosts.close(ws, 4003, `host id ${msg.host_id} is connected; pick another --host-id`);
        return false;
      }
      const gen = this.d.enrollment.enroll(msg.host_id, msg.hostname);
      auth = { kind: "host", host: msg.host_id, gen };
      credential = await signToken(signingKeys(this.d.env), { kind: "host", ws: p.workspace, agent: p.name, host: msg.host_id, gen, inc: p.incarnation });
    } else if (auth.host !== msg.host_id) {
      this.d.hosts.close(ws, 1008, `this credential belongs to host ${auth.host}`);
      return false;
    } else {
      if (other) this.d.hosts.close(other, 4000, "replaced by a newer connection of this host");
      this.d.enrollment.seen(msg.host_id, msg.hostname);
    }
    const now = Date.now();
    const ttl = this.d.leaseTtl();
    const enrolledAgain = credential !== undefined;
    let busy = 0;
    const reported = new Set<string>();
    const stop: { run_id: string; attempt: number }[] = [];
    for (const r of msg.running) {
      reported.add(r.run_id);
      const row = this.d.store.row(r.run_id);
      const holds = row?.status === "running" && row.attempt === r.attempt && row.host_id === msg.host_id;
      // A fresh enrollment is a new process under an old name: it cannot vouch for what the old one ran.
      if (holds && !r.fenced && !enrolledAgain) {
        this.d.store.renew(r.run_id, now);
        this.d.timers.set(TimerKey.lease(r.run_id), "lease", now + ttl + LEASE_MARGIN_MS, { attempt: r.attempt });
        if (!r.exited) busy++;
      } else if (holds) {
        reported.delete(r.run_id);
        if (r.fenced) {
          this.d.lifecycle.apply(r.run_id, { type: "lost", attempt: r.attempt, why: `host ${msg.host_id} stopped the job itself when it could not reach the control plane` });
        }
      } else if (!r.exited) {
        stop.push(r);
      }
    }
    setHost(ws, {
      host_id: msg.host_id,
      hostname: msg.hostname,
      version: msg.version,
      protocol: msg.protocol ?? 1,
      slots: msg.slots,
      credit: Math.max(0, msg.slots - busy),
      draining: false,
      connected_at: new Date(now).toISOString(),
      seen_at: now,
      ...(msg.policy && { policy: msg.policy }),
      runners: msg.runners,
      labels: msg.labels,
    });
    setAuth(ws, auth);
    this.d.hostsChanged();
    this.d.hosts.send(ws, {
      type: "welcome",
      protocol: PROTOCOL,
      agent: p.name,
      host_id: msg.host_id,
      ping_ms: Math.max(100, Math.min(5000, Math.floor(ttl / 4))),
      lease_ttl_ms: ttl,
      ...(credential && { credential }),
    });
    for (const r of stop) this.d.hosts.send(ws, { type: "revoke", run_id: r.run_id, attempt: r.attempt, reason: "its lease was lost while the host was away" });
    // Leases this host held but no longer reports (it restarted, or stopped them itself): lost now.
    for (const row of this.d.store.leasedBy(msg.host_id)) {
      if (!reported.has(row.id)) this.d.lifecycle.apply(row.id, { type: "lost", attempt: row.attempt, why: `host ${msg.host_id} came back without the attempt` });
    }
    return true;
  }

  /** The host is gone: its leases get one TTL from now for it to come back. */
  closed(ws: WebSocket): void {
    const host = hostOf(ws);
    if (!host || this.d.hosts.socketOf(host.host_id, ws)) return;
    this.d.hostsChanged();
    const now = Date.now();
    const ttl = this.d.leaseTtl();
    for (const row of this.d.store.leasedBy(host.host_id)) {
      this.d.store.markMissing(row.id, now);
      this.d.timers.set(TimerKey.lease(row.id), "lease", now + ttl + LEASE_MARGIN_MS, { attempt: row.attempt });
    }
  }

  /** A lease holds while its host is heard from within the TTL; a host that is gone gets one TTL to come back. */
  checkLease(runId: string, attempt: number, now: number): void {
    const row = this.d.store.row(runId);
    if (!row || row.status !== "running" || row.attempt !== attempt || !row.host_id) return;
    const ttl = this.d.leaseTtl();
    const limit = ttl + LEASE_MARGIN_MS;
    const key = TimerKey.lease(runId);
    const ws = this.d.hosts.socketOf(row.host_id);
    if (ws) {
      const seen = this.d.hosts.lastSeen(ws);
      if (now - seen < limit) {
        this.d.store.renew(runId, seen);
        return this.d.timers.set(key, "lease", seen + limit, { attempt });
      }
      this.d.hosts.close(ws, 4008, "silent for longer than the lease TTL");
      this.d.lifecycle.apply(runId, { type: "lost", attempt, why: `host ${row.host_id} was silent for ${now - seen} ms (lease TTL ${ttl} ms)` }, now);
      return;
    }
    const since = row.missing_since ?? now;
    if (row.missing_since === null) this.d.store.markMissing(runId, now);
    if (now - since < limit) return this.d.timers.set(key, "lease", since + limit, { attempt });
    this.d.lifecycle.apply(runId, { type: "lost", attempt, why: `host ${row.host_id} has been gone for ${now - since} ms (lease TTL ${ttl} ms)` }, now);
  }

  /** Revoking a host: its connection closes and what it holds is lost now. */
  revoke(hostId: string): void {
    const ws = this.d.hosts.socketOf(hostId);
    if (ws) this.d.hosts.close(ws, CLOSE_REVOKED, "this host was revoked");
    for (const row of this.d.store.leasedBy(hostId)) this.d.lifecycle.apply(row.id, { type: "lost", attempt: row.attempt, why: `host ${hostId} was revoked` });
  }
}

const unauthorized = (why: string) => new Response(why, { status: 401 });
