/** The client's Node transport against a real HTTP server: bodies, streams, aborts and kept-alive connections. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeFetch } from "../../src/client/node-fetch.js";
import { TetherClient } from "../../src/client/sdk.js";
import { readSse } from "../../src/client/sse.js";

let server: Server;
let base: string;
let connections = 0;
/** The response of the one streaming request open, for the test to write to. */
let streaming: ((res: ServerResponse) => void) | null = null;
const seen: { method: string; headers: IncomingMessage["headers"]; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method!, headers: req.headers, body });
      if (req.url === "/json") return res.writeHead(200, { "content-type": "application/json", "Retry-After": "3" }).end(JSON.stringify({ echo: body, ünï: "ok" }));
      if (req.url === "/bytes") return res.writeHead(200).end(Buffer.from([0, 1, 2, 255]));
      if (req.url === "/v1/runs/run_x") {
        return res.writeHead(429, { "content-type": "application/problem+json", "retry-after": "7" }).end(JSON.stringify({ type: "about:blank", title: "Too Many Requests", status: 429, detail: "slow down" }));
      }
      if (req.url === "/none") return res.writeHead(204).end();
      if (req.url === "/v1/runs/run_moved") return res.writeHead(301, { location: "https://tether.example/v1/runs/run_moved" }).end();
      if (req.url === "/stream") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("id: 1\nevent: state\ndata: a\n\n");
        return streaming?.(res);
      }
      res.writeHead(404).end();
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe("nodeFetch", () => {
  it("sends the method, headers and body, and reads JSON, bytes and headers of the answer", async () => {
    const res = await nodeFetch(`${base}/json`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer t" }, body: '{"x":1}' });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers.get("Retry-After")).toBe("3");
    expect(res.headers.get("x-absent")).toBeNull();
    expect(await res.json()).toEqual({ echo: '{"x":1}', ünï: "ok" });
    expect(seen.at(-1)).toMatchObject({ method: "POST", body: '{"x":1}', headers: { authorization: "Bearer t" } });
    expect(new Uint8Array(await (await nodeFetch(`${base}/bytes`)).arrayBuffer())).toEqual(new Uint8Array([0, 1, 2, 255]));
    const missing = await nodeFetch(`${base}/nowhere`);
    expect([missing.status, missing.ok]).toEqual([404, false]);
    await missing.arrayBuffer();
  });

  it("keeps one connection for calls in sequence, an answer with no body included", async () => {
    await (await nodeFetch(`${base}/json`)).json();
    const before = connections;
    for (let i = 0; i < 5; i++) {
      await (await nodeFetch(`${base}/json`)).json();
      const none = await nodeFetch(`${base}/none`);
      expect(none.status).toBe(204);
      expect(none.body).toBeNull();
    }
    expect(connections).toBe(before);
  });

  it("streams a body as it arrives, and cancelling the stream closes the connection", async () => {
    let open: ServerResponse | undefined;
    const closed = new Promise<void>((resolve) => {
      streaming = (res) => {
        open = res;
        res.on("close", () => resolve());
      };
    });
    const res = await nodeFetch(`${base}/stream`);
    const frames = readSse(res.body!);
    expect((await frames.next()).value).toEqual({ id: "1", event: "state", data: "a" });
    open!.write("id: 2\nevent: output\ndata: b\n\n");
    expect((await frames.next()).value).toEqual({ id: "2", event: "output", data: "b" });
    await frames.return(undefined);
    await res.body!.cancel().catch(() => undefined);
    await closed;
    streaming = null;
  });

  it("an abort rejects with an AbortError, before the answer and while its body streams", async () => {
    const already = AbortSignal.abort();
    await expect(nodeFetch(`${base}/json`, { signal: already })).rejects.toMatchObject({ name: "AbortError" });
    const abort = new AbortController();
    streaming = () => undefined;
    const res = await nodeFetch(`${base}/stream`, { signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: "AbortError" });
    streaming = null;
  });

  it("refuses a URL that is not http or https", async () => {
    await expect(nodeFetch("ftp://example.test/x")).rejects.toThrow(/ftp: is not http: or https:/);
  });

  it("carries the SDK: an answer's problem and Retry-After reach TetherError", async () => {
    const client = new TetherClient({ url: base, token: "t", fetch: nodeFetch, retry: { tries: 1 } });
    await expect(client.get("run_x")).rejects.toMatchObject({ status: 429, retryAfterS: 7, title: "Too Many Requests" });
  });

  it("follows no redirect, where the token would go along, and says where it points", async () => {
    const client = new TetherClient({ url: base, token: "t", fetch: nodeFetch, retry: { tries: 1 } });
    const calls = seen.length;
    const err = await client.get("run_moved").catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 301, problem: null, detail: expect.stringContaining("redirects this call to https://tether.example/v1/runs/run_moved") });
    expect((err as Error).message).toMatch(/TETHER_URL/);
    expect(seen.length).toBe(calls + 1);
  });
});
