/**
 * Random and mutated host protocol frames, on both sockets a host opens: the agent's control
 * socket (hello, credit, reject, drain, bye) and an attempt's output stream (binary batches and
 * JSON control messages). The edge may close a socket over a bad frame, with a code that says
 * why, never an internal error; the objects never crash and the run is never corrupted.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { agentStub, type Env } from "../../src/env.js";
import { app } from "../../src/http/app.js";
import { encodeBatch } from "../../src/protocol/frames.js";
import { PROTOCOL } from "../../src/protocol/version.js";
import { anyJson, FRAMES, mutated, oddString, SEED } from "./fuzz-helpers.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";
import { enroll } from "./hosts.js";

const E = env as unknown as Env;
const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
/** Close codes the edge uses on purpose: normal, bad data, policy, and Tether's own 4xxx. 1011 (internal error) is not one. */
const DELIBERATE = (code: number) => code === 1000 || code === 1005 || code === 1007 || code === 1008 || (code >= 4000 && code < 5000);

type Frame = string | Uint8Array;

/** A socket opened straight into the app (see direct.ts for why not through exports). */
async function open(path: string, token: string) {
  const res = await app.fetch(new Request(`https://tether.test${path}`, { headers: { upgrade: "websocket", authorization: `Bearer ${token}` } }), E, ctx);
  expect(res.status, `${path}: ${res.status}`).toBe(101);
  const sock = res.webSocket!;
  sock.accept();
  let open = true;
  const closed = new Promise<number>((resolve) =>
    sock.addEventListener("close", (e) => {
      open = false;
      resolve(e.code);
    }),
  );
  sock.addEventListener("message", () => {});
  return {
    /** Sends while the socket is open; false once the edge has closed it. */
    send(f: Frame): boolean {
      if (!open) return false;
      sock.send(f);
      return true;
    },
    /** Closes from our side (if still open) and resolves with the code the edge closed with. */
    async end(): Promise<number> {
      if (open) sock.close(1000, "done");
      return closed;
    },
  };
}

const hello = { type: "hello", protocol: PROTOCOL, host_id: "h1", hostname: "box", version: "fuzz", slots: 2, running: [] };
const controlFrame = (run: string): fc.Arbitrary<Frame> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<object>({ type: "credit", n: 1 }, { type: "drain" }, { type: "reject", run_id: run, attempt: 1, reason: "no" }, hello).map((m) => JSON.stringify(m)) },
    { weight: 3, arbitrary: fc.constantFrom<Record<string, unknown>>({ type: "credit", n: 1 }, { type: "reject", run_id: run, attempt: 1, reason: "no" }, hello).chain(mutated).map((m) => JSON.stringify(m)) },
    { weight: 1, arbitrary: fc.record({ type: oddString, x: anyJson }).map((m) => JSON.stringify(m)) },
    { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.oneof(oddString, fc.constant("ping")) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 32 }) },
  );

const streamFrame = (attempt: number): fc.Arbitrary<Frame> => {
  const batch = fc
    .record({ attempt: fc.oneof(fc.constant(attempt), fc.integer({ min: 0, max: 5 })), seq: fc.integer({ min: 0, max: 40 }), stream: fc.constantFrom(1, 2), data: fc.uint8Array({ maxLength: 64 }) })
    .map((b) => encodeBatch(b.attempt, [{ seq: b.seq, stream: b.stream as 1 | 2, data: b.data }]));
  const flipped = fc.tuple(batch, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, v]) => {
    const out = b.slice();
    out[i % out.length] = v;
    return out;
  });
  const truncated = fc.tuple(batch, fc.nat()).map(([b, n]) => b.slice(0, n % b.length));
  const control = fc.constantFrom<Record<string, unknown>>(
    { type: "hello", pid: 42 },
    { type: "input_ack", seq: 0 },
    { type: "event", event: { type: "assistant", text: "hi" } },
    { type: "end", last_seq: 0, reason: "exited", exit_code: 0, signal: null, error: null },
  );
  return fc.oneof(
    { weight: 4, arbitrary: batch },
    { weight: 2, arbitrary: flipped },
    { weight: 1, arbitrary: truncated },
    { weight: 2, arbitrary: control.map((m) => JSON.stringify(m)) },
    { weight: 2, arbitrary: control.chain(mutated).map((m) => JSON.stringify(m)) },
    { weight: 1, arbitrary: fc.oneof(oddString, anyJson.map((v) => JSON.stringify(v))) },
  );
};

/** An agent with one enrolled host holding one running attempt, in a workspace of its own. */
async function setup(agent: string) {
  const ws = freshWorkspace();
  const t = await workspaceToken(ws);
  const { json: created } = await call(t, "POST", "/v1/agents", { name: agent });
  const host = await enroll(agent, created.host_token, "h1", { slots: 1 });
  host.sock.send({ type: "credit", n: 1 });
  const run = (await call(t, "POST", `/v1/agents/${agent}/runs`, { argv: ["true"] })).json;
  const assign = await host.sock.next();
  expect(assign).toMatchObject({ type: "assign", run_id: run.id, attempt: 1 });
  // The host's own control socket goes; the fuzzed ones take its place under the same credential.
  host.sock.sock.close(1000, "fuzzing");
  return { ws, t, credential: host.credential, run: run.id as string };
}

describe("fuzzing the host protocol", () => {
  it(`answers ${FRAMES} random and mutated frames on the control and output sockets with deliberate closes only (seed ${SEED})`, async () => {
    const started = Date.now();
    const codes = new Map<string, number>();
    let frames = 0;
    let connections = 0;

    // The control socket: a sequence per connection, hello first (mostly as it should be).
    const control = await setup("fz-control");
    const controlSeq = fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constant(JSON.stringify(hello)) }, { weight: 1, arbitrary: controlFrame(control.run) }), fc.array(controlFrame(control.run), { minLength: 1, maxLength: 30 }));
    // The output stream of the attempt the host holds.
    const stream = await setup("fz-stream");
    const streamSeq = fc.array(streamFrame(1), { minLength: 1, maxLength: 30 });

    const drive = async (path: string, token: string, seq: Frame[], kind: string) => {
      const sock = await open(path, token);
      connections++;
      for (const f of seq) if (sock.send(f)) frames++;
      const code = await sock.end();
      codes.set(`${kind} ${code}`, (codes.get(`${kind} ${code}`) ?? 0) + 1);
      expect(DELIBERATE(code), `${kind} socket closed with ${code}`).toBe(true);
    };

    for (let round = 0; frames < FRAMES; round++) {
      await fc.assert(
        fc.asyncProperty(controlSeq, async ([first, rest]) => drive(`/v1/agents/fz-control/connect`, control.credential, [first, ...rest], "control")),
        { seed: SEED + round, numRuns: 60, endOnFailure: true },
      );
      await fc.assert(
        fc.asyncProperty(streamSeq, async (seq) => drive(`/v1/runs/${stream.run}/stream?attempt=1`, stream.credential, seq, "stream")),
        { seed: SEED + 1000 + round, numRuns: 60, endOnFailure: true },
      );
      // Neither object crashed: both still answer, and the runs read back whole.
      for (const s of [control, stream]) {
        const agent = s === control ? "fz-control" : "fz-stream";
        expect(await agentStub(E, s.ws, agent).get()).not.toBeNull();
        const run = await call(s.t, "GET", `/v1/runs/${s.run}`);
        expect(run.status).toBe(200);
        expect((await call(s.t, "GET", `/v1/runs/${s.run}/output`)).status).toBe(200);
      }
    }
    // A host can still connect and say hello after all that.
    const after = await open(`/v1/agents/fz-control/connect`, control.credential);
    after.send(JSON.stringify(hello));
    expect(await after.end()).toBe(1000);
    console.log(`fuzz-frames: ${frames} frames over ${connections} connections in ${Date.now() - started} ms (seed ${SEED}); closes ${JSON.stringify(Object.fromEntries([...codes].sort()))}`);
    expect(frames).toBeGreaterThanOrEqual(FRAMES);
  }, Math.max(120_000, FRAMES * 25));
});
