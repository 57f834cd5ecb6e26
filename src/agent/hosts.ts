/** The connected hosts of one agent, as the attachments of their hibernatable sockets. */
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

export interface HostSocket {
  /** Unset until the host has said hello. */
  host?: HostInfo;
}

export const HOST_TAG = "host";

export function hostOf(ws: WebSocket): HostInfo | undefined {
  return (ws.deserializeAttachment() as HostSocket | null)?.host;
}

export function setHost(ws: WebSocket, host: HostInfo): void {
  ws.serializeAttachment({ host } satisfies HostSocket);
}

/** The said-hello sockets with free slots, the one with the most free first, so work spreads. */
export function hostsWithCredit(sockets: WebSocket[]): { ws: WebSocket; host: HostInfo }[] {
  const out: { ws: WebSocket; host: HostInfo }[] = [];
  for (const ws of sockets) {
    const host = hostOf(ws);
    if (host && host.credit > 0 && !host.draining) out.push({ ws, host });
  }
  return out.sort((a, b) => b.host.credit - a.host.credit);
}

export function socketOf(sockets: WebSocket[], hostId: string): WebSocket | undefined {
  return sockets.find((ws) => hostOf(ws)?.host_id === hostId);
}
