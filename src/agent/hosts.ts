/** The connected hosts of one agent: hibernatable sockets, each carrying who it is and what its host said as its attachment. */
import type { HostView } from "../protocol/agent.js";
import type { EdgeToHost, HostPolicySummary } from "../protocol/host.js";

export interface HostInfo {
  host_id: string;
  hostname: string;
  version: string;
  protocol: number;
  slots: number;
  /** Slots the host has said are free and that no assignment has taken yet. */
  credit: number;
  /** Shutting down: takes nothing new. */
  draining: boolean;
  connected_at: string;
  /** Last time the host said anything but a ping (pings are answered without waking us). */
  seen_at: number;
  policy?: HostPolicySummary;
  /** Runners it can run, such as claude. */
  runners?: string[];
  /** Its owner's labels: a run that requires labels goes only to a host with them all. */
  labels?: Record<string, string>;
}

/** What the socket was opened with: the agent's enrollment token, or one host's own credential. */
export type SocketAuth = { kind: "enroll" } | { kind: "host"; host: string; gen: number };

interface HostSocket {
  auth: SocketAuth;
  /** Unset until the host has said hello. */
  host?: HostInfo;
}

const HOST_TAG = "host";

/**
 * Each socket's attachment as last written, so reading it costs no deserialization: it is read
 * on every message and for every host at each assignment. After a wake from hibernation the
 * sockets are new objects and the first read fills this from the attachment again.
 */
const attached = new WeakMap<WebSocket, HostSocket>();

function attachmentOf(ws: WebSocket): HostSocket | null {
  let a = attached.get(ws);
  if (!a) {
    a = (ws.deserializeAttachment() as HostSocket | null) ?? undefined;
    if (a) attached.set(ws, a);
  }
  return a ?? null;
}

/** When each socket's attachment last had its host's seen_at written. */
const seenWritten = new WeakMap<WebSocket, number>();

function attach(ws: WebSocket, a: HostSocket): void {
  ws.serializeAttachment(a);
  attached.set(ws, a);
  if (a.host) seenWritten.set(ws, a.host.seen_at);
}

export function hostOf(ws: WebSocket): HostInfo | undefined {
  return attachmentOf(ws)?.host;
}

export function authOf(ws: WebSocket): SocketAuth | undefined {
  return attachmentOf(ws)?.auth;
}

/** Who the socket now speaks for, once its hello is taken. */
export function setAuth(ws: WebSocket, auth: SocketAuth): void {
  attach(ws, { auth, host: hostOf(ws) });
}

/** Whether a host's labels include every one of `wanted`, each with its value. */
export function hasLabels(labels: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => labels?.[k] === v);
}

export function setHost(ws: WebSocket, host: HostInfo): void {
  const auth = authOf(ws);
  if (auth) attach(ws, { auth, host });
}

/**
 * Notes that the host was heard from. The attachment is written again only a second after it
 * last was: the lease check reads the later of this and the last ping, which the runtime keeps.
 */
export function touchHost(ws: WebSocket, host: HostInfo, now: number): void {
  if (now - (seenWritten.get(ws) ?? 0) >= 1_000) return setHost(ws, { ...host, seen_at: now });
  host.seen_at = now;
}

export class Hosts {
  constructor(private readonly ctx: DurableObjectState) {
    // Hosts ping on their control socket; answering without waking the object keeps idle agents free.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** Takes a host's control socket; it says hello next. */
  accept(auth: SocketAuth): Response {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [HOST_TAG]);
    attach(pair[1], { auth });
    this.sockets = null;
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** The runtime's list, kept until a socket comes or goes: asking for it costs a copy of every socket. */
  private sockets: WebSocket[] | null = null;

  all(): WebSocket[] {
    this.sockets ??= this.ctx.getWebSockets(HOST_TAG);
    return this.sockets.filter((ws) => ws.readyState === WebSocket.READY_STATE_OPEN);
  }

  /** A socket closed: the list is read again. */
  forget(): void {
    this.sockets = null;
  }

  socketOf(hostId: string, except?: WebSocket): WebSocket | undefined {
    return this.all().find((ws) => ws !== except && hostOf(ws)?.host_id === hostId);
  }

  /** The said-hello sockets with free slots, the one with the most free first, so work spreads. */
  withCredit(): WebSocket[] {
    const out: { ws: WebSocket; credit: number }[] = [];
    for (const ws of this.all()) {
      const host = hostOf(ws);
      if (host && host.credit > 0 && !host.draining) out.push({ ws, credit: host.credit });
    }
    return out.sort((a, b) => b.credit - a.credit).map((o) => o.ws);
  }

  /** The last time the host was heard from, its pings included. */
  lastSeen(ws: WebSocket): number {
    const ping = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return Math.max(ping, hostOf(ws)?.seen_at ?? 0);
  }

  send(ws: WebSocket, msg: EdgeToHost): void {
    try {
      ws.send(JSON.stringify(msg));
    } catch {
      /* closed; the host reconnects and says hello again */
    }
  }

  /** Sends to the host if it is connected; one that is not hears of it in its next hello. */
  sendTo(hostId: string, msg: EdgeToHost): void {
    const ws = this.socketOf(hostId);
    if (ws) this.send(ws, msg);
  }

  close(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      /* already closed */
    }
  }

  /** Whether a connected host has every one of these labels. */
  haveLabels(requires: Record<string, string>): boolean {
    return this.all().some((ws) => hasLabels(hostOf(ws)?.labels, requires));
  }

  /** Whether a connected host can run jobs of this runner. */
  haveRunner(runner: string): boolean {
    return this.all().some((ws) => hostOf(ws)?.runners?.includes(runner));
  }

  closeAll(code: number, reason: string): void {
    for (const ws of this.all()) this.close(ws, code, reason);
  }

  views(): HostView[] {
    return this.all()
      .map(hostOf)
      .filter((h): h is HostInfo => h !== undefined)
      .map(({ credit, seen_at: _seen, ...h }): HostView => ({ ...h, free: credit }));
  }
}
