/**
 * Queue semantics on the real stack: the Worker in workerd and a real tether-agent with 4 slots.
 * Each job prints its own start and end times (the host's clock, one for all jobs), so order and
 * overlap are read from what the jobs saw, not from the control plane's bookkeeping.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, startStack, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack({ slots: 4 });
});
afterAll(async () => {
  await s?.stop();
});

/** A job that prints the nanosecond it started and the one it ended, a short sleep apart. */
const timed = ["sh", "-c", "date +%s%N; sleep 0.05; date +%s%N"];

async function spans(ids: string[]): Promise<{ start: bigint; end: bigint }[]> {
  return Promise.all(
    ids.map(async (id) => {
      const [start, end] = Buffer.from(await s.client.output(id, { stream: "stdout" })).toString().trim().split("\n").map((l) => BigInt(l));
      return { start: start!, end: end! };
    }),
  );
}

describe("queue semantics end to end", () => {
  it("a lane of 20 runs on 4 slots runs strictly one at a time, in submit order", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await s.client.submit(s.agent, { argv: timed, lane: "session-42" })).id);
    // Runs outside the lane use the other slots meanwhile: the lane, not the host, holds its runs back.
    const free = await Promise.all([0, 1, 2].map(() => s.client.submit(s.agent, { argv: timed })));
    const ended = await Promise.all(ids.map((id) => s.client.wait(id)));
    expect(ended.map((r) => r.status)).toEqual(Array(20).fill("succeeded"));
    const lane = await spans(ids);
    for (let i = 1; i < lane.length; i++) {
      // Started after the one before it ended: never two at once, and in the order submitted.
      expect(lane[i]!.start > lane[i - 1]!.end, `run ${i} started before run ${i - 1} ended`).toBe(true);
    }
    for (const r of free) expect((await s.client.wait(r.id)).status).toBe("succeeded");
    const others = await spans(free.map((r) => r.id));
    // With 4 slots the free runs did not wait for the lane: each ended before the lane's last run started.
    for (const o of others) expect(o.end < lane[19]!.start).toBe(true);
  });

  it("a batch of 100 submits runs every job once on the real host, each with its own output, and a resend makes none", async () => {
    const jobs = Array.from({ length: 100 }, (_, i) => ({ argv: ["sh", "-c", `echo job-${i}`], idempotency_key: `batch-${i}` }));
    const results = await s.client.submitMany(s.agent, jobs);
    const ids = results.map((r) => {
      if (!("run" in r)) throw new Error(r.problem.detail);
      expect(r.created).toBe(true);
      return r.run.id;
    });
    const ended = await Promise.all(ids.map((id) => s.client.wait(id)));
    expect(ended.every((r) => r.status === "succeeded" && r.attempt === 1)).toBe(true);
    const outs = await Promise.all(ids.map(async (id) => Buffer.from(await s.client.output(id, { stream: "stdout" })).toString()));
    expect(outs).toEqual(jobs.map((_, i) => `job-${i}\n`));
    const again = await s.client.submitMany(s.agent, jobs);
    expect(again.map((r) => "run" in r && !r.created && r.run.id)).toEqual(ids);
  });

  it("round_robin over 3 keys with 30 runs starts them interleaved, though each key's runs were submitted together", async () => {
    // Four runs hold the slots while the 30 are submitted, so the order is the queue's, not the submits'.
    const hold = ["sh", "-c", "sleep 30"];
    const holders = await Promise.all([0, 1, 2, 3].map(() => s.client.submit(s.agent, { argv: hold })));
    const keyOf = new Map<string, string>();
    for (const key of ["tenant-a", "tenant-b", "tenant-c"]) {
      for (let i = 0; i < 10; i++) {
        const r = await s.client.submit(s.agent, { argv: ["sh", "-c", "date +%s%N; sleep 0.05; date +%s%N"], concurrency: { key, limit: 10, strategy: "round_robin" } });
        expect(r.status).toBe("queued");
        keyOf.set(r.id, key);
      }
    }
    await Promise.all(holders.map((h) => s.client.cancel(h.id)));
    const ids = [...keyOf.keys()];
    for (const id of ids) expect((await s.client.wait(id)).status).toBe("succeeded");
    const started = (await spans(ids)).map((sp, i) => ({ key: keyOf.get(ids[i]!)!, start: sp.start }));
    started.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
    // Four start at a time, so within a few milliseconds their order may shuffle; but at every
    // point the keys have had nearly equal shares. Submit order would have given tenant-a 10 first.
    const seen: Record<string, number> = { "tenant-a": 0, "tenant-b": 0, "tenant-c": 0 };
    for (const { key } of started) {
      seen[key]!++;
      expect(Math.max(...Object.values(seen)) - Math.min(...Object.values(seen)), JSON.stringify(started.map((x) => x.key))).toBeLessThanOrEqual(2);
    }
  });

  it("tether run --debounce: the second run replaces the first, which ends cancelled naming it", async () => {
    const tether = (...args: string[]) => cli(s, args);
    // 4 s: room for the second CLI process to start before the first run is ready.
    const first = tether("run", s.agent, "--detach", "--debounce", "save=4000", "--", "true");
    expect(first.status, first.stderr).toBe(0);
    const second = tether("run", s.agent, "--detach", "--debounce", "save=4000", "--", "true");
    expect(second.status, second.stderr).toBe(0);
    const [a, b] = [first.stdout.trim(), second.stdout.trim()];
    expect(await s.client.get(a)).toMatchObject({ status: "cancelled", error: expect.stringContaining(`replaced by run ${b}`) });
    expect((await s.client.wait(b)).status).toBe("succeeded");
    // Checked by the CLI against the submit schema before sending: a usage mistake, exit 2.
    const bad = tether("run", s.agent, "--detach", "--debounce", "save", "--", "true");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/debounce/);
  });
});
