/** The connected hosts of one agent: hibernatable sockets, each carrying what its host said as its attachment. */
import type { HostView } from "../protocol/agent.js";
import type { EdgeToHost } from "../protocol/host.js";

export interface HostInfo {
  host_id: string;
  hostname: string;
  version: string;
  slots: number;
  /** Slots the host has said are free and that no assignment has taken yet. */
  credit: number;
  /** Shutting down: takes nothing new. */
  draining: boolean;
  connected_at: string;
  /** Last time the host said anything but a ping (pings are answered without waking us). */
  seen_at: number;
}

interface HostSocket {
  /** Unset until the host has said hello. */
  host?: HostInfo;
}

const HOST_TAG = "host";

export function hostOf(ws: WebSocket): HostInfo | undefined {
  return (ws.deserializeAttachment() as HostSocket | null)?.host;
}

export function setHost(ws: WebSocket, host: HostInfo): void {
  ws.serializeAttachment({ host } satisfies HostSocket);
}

export class Hosts {
  constructor(private readonly ctx: DurableObjectState) {
    // Hosts ping on their control socket; answering without waking the object keeps idle agents free.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** Takes a host's control socket; it says hello next. */
  accept(): Response {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [HOST_TAG]);
    pair[1].serializeAttachment({} satisfies HostSocket);
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

  /** Whether a connected host other than this one could take a retry. */
  othersThan(hostId: string): boolean {
    return this.all().some((ws) => {
      const h = hostOf(ws);
      return h !== undefined && h.host_id !== hostId && !h.draining;
    });
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

  closeAll(code: number, reason: string): void {
    for (const ws of this.all()) ws.close(code, reason);
  }

  views(): HostView[] {
    return this.all()
      .map(hostOf)
      .filter((h): h is HostInfo => h !== undefined)
      .map(({ credit, seen_at: _seen, ...h }): HostView => ({ ...h, free: credit }));
  }
}
