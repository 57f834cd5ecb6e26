/**
 * A flooding host against the local stack: it is cut off, and what it costs other clients is
 * measured and printed (p99 of a read while it floods, beside the same read without it). Not a
 * timed assertion: the figure is reported, the refusal is what the test asserts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { PROTOCOL } from "../../src/protocol/version.js";
import { startStack, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack({ hosts: 0 });
});
afterAll(async () => {
  await s?.stop();
});

async function p99(n: number, fn: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length * 0.99)]!;
}

/** A host that enrolls, then sends messages as fast as its socket takes them; resolves with the close code. */
function flooder(url: string, token: string, hostId: string): Promise<{ credential: string; closed: Promise<number> }> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/agents/${s.agent}/connect`, { headers: { authorization: `Bearer ${token}` } });
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  return new Promise((resolve) => {
    ws.on("open", () => ws.send(JSON.stringify({ type: "hello", protocol: PROTOCOL, host_id: hostId, hostname: "flood", version: "x", slots: 1, running: [] })));
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; credential?: string };
      if (msg.type !== "welcome") return;
      const pump = () => {
        while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 1 << 20) ws.send('{"type":"drain"}');
        if (ws.readyState === WebSocket.OPEN) setImmediate(pump);
      };
      pump();
      resolve({ credential: msg.credential!, closed });
    });
  });
}

describe("a flooding host", () => {
  it("is cut off, and other clients go on", async () => {
    const read = () => s.client.getAgent(s.agent);
    await p99(20, read);
    const quiet = await p99(200, read);
    const { closed } = await flooder(s.url, s.hostToken, "flood");
    const loaded = await p99(200, read);
    expect(await closed).toBe(4013);
    console.log(`a read's p99 while a host floods its control socket: ${loaded.toFixed(1)} ms (without: ${quiet.toFixed(1)} ms)`);
  });
});
