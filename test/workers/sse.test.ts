import { describe, expect, it } from "vitest";
import { readSse } from "../../src/client/sse.js";

function streamOf(pieces: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const p of pieces) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

async function all(pieces: string[]) {
  const out = [];
  for await (const f of readSse(streamOf(pieces))) out.push(f);
  return out;
}

describe("the SSE reader", () => {
  it("reads events split anywhere across reads, with comments, CRLF and multi-line data", async () => {
    const text = ": keep-alive\n\nid: 1\nevent: state\ndata: {\"a\":1}\n\nid: 2\r\nevent: output\r\ndata: x\r\ndata: y\r\n\r\n";
    const whole = await all([text]);
    expect(whole).toEqual([
      { id: "1", event: "state", data: '{"a":1}' },
      { id: "2", event: "output", data: "x\ny" },
    ]);
    for (let cut = 1; cut < text.length; cut++) expect(await all([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    expect(await all(text.split(""))).toEqual(whole);
  });

  it("keeps a large event whole", async () => {
    const big = "A".repeat(400_000);
    const text = `id: 9\nevent: output\ndata: ${big}\n\n`;
    const pieces: string[] = [];
    for (let i = 0; i < text.length; i += 65_536) pieces.push(text.slice(i, i + 65_536));
    expect(await all(pieces)).toEqual([{ id: "9", event: "output", data: big }]);
  });
});
