/**
 * The SDK's watch against the real stack, through connections that drop mid-stream (mid-frame
 * too): it resumes by Last-Event-ID on its own, and what the loop sees is every event once, in
 * order, ids consecutive, the output byte for byte the job's. A finished run's watch from its
 * last event ends at once on the server's 204.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TetherClient, type WatchEvent } from "../../src/client/sdk.js";
import { collect, outputOf, startStack, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

interface Cut {
  /** Bytes of the stream let through before the cut. */
  after: number;
  /** "error": the body fails (a reset connection); "close": it just ends (a proxy that gave up). */
  how: "error" | "close";
}

interface WatchRequest {
  lastEventId: string | null;
  status: number;
  /** The id of the first frame the server sent on this connection (null: none before the cut). */
  firstId?: number | null;
}

/** A fetch whose watch streams are cut as `cuts` says, one cut per connection in turn; it notes each watch request. */
function cuttingFetch(cuts: Cut[]) {
  const watches: WatchRequest[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const res = await fetch(input, init);
    if (!String(input).includes("/watch")) return res;
    const w: WatchRequest = { lastEventId: new Headers(init?.headers).get("last-event-id"), status: res.status };
    watches.push(w);
    const cut = cuts.shift();
    if (!cut || !res.body) return res;
    w.firstId = null;
    const reader = res.body.getReader();
    let passed = 0;
    let head = "";
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await reader.read();
        if (done) return controller.close();
        if (w.firstId === null && head.length < 4096) {
          head += Buffer.from(value).toString("latin1");
          const m = /^id: (\d+)$/m.exec(head);
          if (m) w.firstId = Number(m[1]);
        }
        const room = cut.after - passed;
        if (value.byteLength < room) {
          passed += value.byteLength;
          return controller.enqueue(value);
        }
        if (room > 0) controller.enqueue(value.subarray(0, room));
        passed = cut.after;
        await reader.cancel();
        if (cut.how === "error") controller.error(new TypeError("terminated: the connection was reset"));
        else controller.close();
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }) as typeof fetch;
  return { fetch: f, watches };
}

const LINES = 600;
const expected = Array.from({ length: LINES }, (_, i) => `line ${i + 1} ${"x".repeat(i % 37)}\n`).join("");

describe("SDK watch across dropped connections", () => {
  it("resumes by Last-Event-ID on its own: every event once, ids consecutive, output byte-exact", async () => {
    const run = await s.client.submit(s.agent, {
      argv: ["sh", "-c", `i=1; while [ $i -le ${LINES} ]; do printf 'line %d %s\\n' $i "$(printf '%*s' $((($i - 1) % 37)) '' | tr ' ' x)"; [ $((i % 50)) -eq 0 ] && { echo "err $i" >&2; sleep 0.1; }; i=$((i + 1)); done`],
    });
    // Cut the first connection mid-frame, the next right after one byte, the third by just ending it, and two more later on.
    const cuts: Cut[] = [
      { after: 2500, how: "error" },
      { after: 1, how: "error" },
      { after: 3333, how: "close" },
      { after: 6000, how: "error" },
      { after: 4097, how: "close" },
    ];
    const cutter = cuttingFetch(cuts);
    const events: WatchEvent[] = [];
    // At each connection, the id the loop had last seen: what Last-Event-ID must say.
    const heardAt: (string | null)[] = [];
    const counting = cutter.fetch;
    cutter.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input).includes("/watch")) heardAt.push(events.length ? String(events.at(-1)!.id) : null);
      return counting(input, init);
    }) as typeof fetch;
    const client = new TetherClient({ url: s.url, token: s.token, fetch: cutter.fetch, retry: { baseMs: 20 } });
    for await (const ev of client.watch(run.id)) events.push(ev);

    expect(cuts, "every cut was made").toEqual([]);
    expect(cutter.watches.length).toBeGreaterThanOrEqual(6);
    expect(cutter.watches.every((w) => w.status === 200)).toBe(true);

    const ids = events.map((e) => e.id);
    expect(ids[0]).toBe(1);
    for (let i = 1; i < ids.length; i++) expect(ids[i], `event ${i} follows ${ids[i - 1]}`).toBe(ids[i - 1]! + 1);
    // Each reconnect said the last id the loop had seen (none before the first event), and the
    // server went on from the next one: the SDK had nothing to drop.
    expect(cutter.watches.map((w) => w.lastEventId)).toEqual(heardAt);
    expect(heardAt.filter((h) => h !== null).length, "most reconnects resumed after an event").toBeGreaterThanOrEqual(4);
    for (const w of cutter.watches) if (w.firstId != null) expect(w.firstId).toBe(Number(w.lastEventId ?? 0) + 1);

    const last = events.at(-1)!;
    expect(last.type === "state" && last.run.status).toBe("succeeded");
    expect(outputOf(events, "stdout").toString()).toBe(expected);
    expect(Buffer.from(await s.client.output(run.id, { stream: "stdout" })).toString()).toBe(expected);
    expect(outputOf(events, "stderr").toString()).toBe(Buffer.from(await s.client.output(run.id, { stream: "stderr" })).toString());

    // The same as one unbroken watch of the ended run.
    const whole = await collect(s.client, run.id);
    expect(whole.events.map((e) => e.id)).toEqual(ids);
  });

  it("a finished run's watch after its last event ends at once on a 204; after an earlier one it gives the rest and ends", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "echo one; echo two"] });
    const { events } = await collect(s.client, run.id);
    const lastId = events.at(-1)!.id;

    const a = cuttingFetch([]);
    const client = new TetherClient({ url: s.url, token: s.token, fetch: a.fetch });
    const after: WatchEvent[] = [];
    for await (const ev of client.watch(run.id, { after: lastId })) after.push(ev);
    expect(after).toEqual([]);
    expect(a.watches).toEqual([{ lastEventId: String(lastId), status: 204 }]);

    const b = cuttingFetch([]);
    const rest: WatchEvent[] = [];
    for await (const ev of new TetherClient({ url: s.url, token: s.token, fetch: b.fetch }).watch(run.id, { after: 2 })) rest.push(ev);
    expect(rest.map((e) => e.id)).toEqual(events.filter((e) => e.id > 2).map((e) => e.id));
    expect(b.watches).toEqual([{ lastEventId: "2", status: 200 }]);
  });
});
