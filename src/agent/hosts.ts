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

export function hostOf(ws: WebSocket): HostInfo | undefined {
  return (ws.deserializeAttachment() as HostSocket | null)?.host;
}

export function authOf(ws: WebSocket): SocketAuth | undefined {
  return (ws.deserializeAttachment() as HostSocket | null)?.auth;
}

/** Whether a host's labels include every one of `wanted`, each with its value. */
export function hasLabels(labels: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => labels?.[k] === v);
}

export function setHost(ws: WebSocket, host: HostInfo): void {
  const auth = authOf(ws);
  if (auth) ws.serializeAttachment({ auth, host } satisfies HostSocket);
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
    pair[1].serializeAttachment({ auth } satisfies HostSocket);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  all(): WebSocket[] {
    return this.ctx.getWebSockets(HOST_TAG);
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
