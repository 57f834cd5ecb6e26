/**
 * A flooding host against the local stack: it is cut off, and what it costs other clients is
 * measured and printed (p99 of a read while it floods, beside the same read without it). Not a
 * timed assertion: the figure is reported, the refusal is what the test asserts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { encodeBatch, STDOUT } from "../../src/protocol/frames.js";
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

  it("floods an output stream with tiny batches: other clients go on", async () => {
    const control = new WebSocket(`${s.url.replace(/^http/, "ws")}/v1/agents/${s.agent}/connect`, { headers: { authorization: `Bearer ${s.hostToken}` } });
    const messages: { type: string; credential?: string; run_id?: string }[] = [];
    let wake: (() => void) | null = null;
    control.on("message", (d) => {
      messages.push(JSON.parse(d.toString()));
      wake?.();
    });
    const next = async () => {
      while (!messages.length) await new Promise<void>((r) => (wake = r));
      return messages.shift()!;
    };
    await new Promise<void>((r) => control.on("open", () => r()));
    control.send(JSON.stringify({ type: "hello", protocol: PROTOCOL, host_id: "batcher", hostname: "flood", version: "x", slots: 1, running: [] }));
    const { credential } = await next();
    const run = await s.client.submit(s.agent, { argv: ["true"] });
    expect(await next()).toMatchObject({ type: "assign", run_id: run.id });
    const ws = new WebSocket(`${s.url.replace(/^http/, "ws")}/v1/runs/${run.id}/stream?attempt=1`, { headers: { authorization: `Bearer ${credential}` } });
    const read = () => s.client.getAgent(s.agent);
    const quiet = await p99(100, read);
    // The flood stops after a few seconds, cut off here if the edge has not cut it first.
    const stop = setTimeout(() => ws.terminate(), 3000);
    const code = new Promise<number>((resolve) => {
      ws.on("open", () => {
        ws.send(JSON.stringify({ type: "hello", pid: 1 }));
        let seq = 1;
        const pump = () => {
          while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 1 << 20) ws.send(encodeBatch(1, [{ seq: seq++, stream: STDOUT, data: new Uint8Array([120]) }]));
          if (ws.readyState === WebSocket.OPEN) setImmediate(pump);
        };
        pump();
      });
      ws.on("close", (c) => resolve(c));
    });
    const loaded = await p99(100, read);
    expect([4013, 1006]).toContain(await code);
    clearTimeout(stop);
    console.log(`a read's p99 while a host floods an output stream: ${loaded.toFixed(1)} ms (without: ${quiet.toFixed(1)} ms)`);
    control.close();
  });
});
