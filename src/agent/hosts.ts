/** The connected hosts of one agent, as the attachments of their hibernatable sockets. */
export interface HostInfo {
  host_id: string;
  hostname: string;
  version: string;
  slots: number;
  /** Slots the host has said are free and that no assignment has taken yet. */
  credit: number;
  connected_at: string;
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

/** The said-hello sockets, the one with the most free credit first, so work spreads. */
export function hostsWithCredit(sockets: WebSocket[]): { ws: WebSocket; host: HostInfo }[] {
  const out: { ws: WebSocket; host: HostInfo }[] = [];
  for (const ws of sockets) {
    const host = hostOf(ws);
    if (host && host.credit > 0) out.push({ ws, host });
  }
  return out.sort((a, b) => b.host.credit - a.host.credit);
}
