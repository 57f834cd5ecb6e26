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
