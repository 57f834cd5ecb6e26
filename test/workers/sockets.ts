import { exports } from "cloudflare:workers";
import { expect } from "vitest";

/** A WebSocket to the Worker, opened the way tether-agent opens its own, with an inbox to await. */
export async function openSocket(path: string, token: string) {
  const res = await (exports as unknown as { default: Fetcher }).default.fetch(`https://tether.test${path}`, {
    headers: { upgrade: "websocket", authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(101);
  const sock = res.webSocket!;
  sock.accept();
  const inbox: any[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => sock.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
  let wake: (() => void) | null = null;
  sock.addEventListener("message", (e) => {
    if (e.data !== "pong") inbox.push(JSON.parse(e.data as string));
    wake?.();
  });
  return {
    sock,
    /** How the other side closed it. */
    closed,
    send: (m: unknown) => sock.send(typeof m === "string" || m instanceof Uint8Array ? m : JSON.stringify(m)),
    /** The next message from the other side. */
    async next(): Promise<any> {
      while (!inbox.length) await new Promise<void>((r) => (wake = r));
      return inbox.shift();
    },
  };
}
