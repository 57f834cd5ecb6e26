/** A loopback TCP proxy that can cut every connection through it, to drop a host's sockets on demand. */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface CutProxy {
  url: string;
  /** Bytes that went from the host to the control plane since the last cut. */
  bytesSinceCut(): number;
  /** Resolves once `n` more bytes have gone upstream. */
  waitBytes(n: number): Promise<void>;
  cut(): number;
  cuts: number;
  /** While blocked, every connection is cut as it arrives: the host is cut off. */
  block(on: boolean): void;
  /**
   * A partition: connections stay open but nothing goes through either way (Wi-Fi gone, a proxy
   * that stalls); new ones hang unanswered. Off again, what was held back flows on.
   */
  stall(on: boolean): void;
  close(): Promise<void>;
}

export async function cutProxy(target: string): Promise<CutProxy> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  let since = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  let blocked = false;
  let stalled = false;
  const server: Server = createServer((client) => {
    if (blocked) return void client.destroy();
    if (stalled) client.pause();
    const upstream = createConnection({ host: hostname, port: Number(port) });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on("data", (b: Buffer) => {
      since += b.length;
      waiters = waiters.filter((w) => (since >= w.n ? (w.resolve(), false) : true));
    });
    client.pipe(upstream);
    upstream.pipe(client);
    if (stalled) upstream.pause();
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address() as { port: number };
  const proxy: CutProxy = {
    url: `http://127.0.0.1:${addr.port}`,
    cuts: 0,
    block(on) {
      blocked = on;
      if (on) proxy.cut();
    },
    stall(on) {
      stalled = on;
      for (const [a, b] of pairs) {
        if (on) {
          a.pause();
          b.pause();
        } else {
          a.resume();
          b.resume();
        }
      }
    },
    bytesSinceCut: () => since,
    waitBytes: (n) => (since >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    cut() {
      const n = pairs.size;
      for (const [a, b] of [...pairs]) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      since = 0;
      proxy.cuts++;
      return n;
    },
    close: () =>
      new Promise<void>((r) => {
        proxy.cut();
        server.close(() => r());
      }),
  };
  return proxy;
}
