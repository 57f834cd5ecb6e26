/**
 * A hibernatable socket the peer closed: close our side too, with the peer's code where it sent
 * one (1005 and 1006 only say none came, and may not be sent back).
 */
export function closeBack(ws: WebSocket, code: number): void {
  try {
    ws.close(code === 1005 || code === 1006 ? 1000 : code);
  } catch {
    /* already closed */
  }
}

/**
 * A socket's message budget: LIMITS.socketMessagesPerS on average over a second. Counted in
 * memory per socket; an object that hibernated starts the count afresh, which only forgives.
 */
export class MessageRate {
  private readonly seen = new WeakMap<WebSocket, { start: number; n: number }>();

  constructor(private readonly perSecond: number) {}

  allow(ws: WebSocket, now = Date.now()): boolean {
    const r = this.seen.get(ws);
    if (!r || now - r.start >= 1000) {
      this.seen.set(ws, { start: now, n: 1 });
      return true;
    }
    return ++r.n <= this.perSecond;
  }
}
