/** The agent's waiters: every one hears the end, a timeout answers the run as it is then, and they are capped. */
import { describe, expect, it, vi } from "vitest";
import { RunWaiters } from "../../src/agent/run-waiters.js";
import { LIMITS } from "../../src/protocol/limits.js";
import type { Run } from "../../src/protocol/run.js";

const run = (id: string, status: string) => ({ id, status }) as unknown as Run;

describe("RunWaiters", () => {
  it("tells every waiter of a run its end, and no waiter of another", async () => {
    const w = new RunWaiters();
    const a = [w.wait("r1", 60_000, () => run("r1", "running")), w.wait("r1", 60_000, () => run("r1", "running"))];
    let other: unknown = null;
    void w.wait("r2", 60_000, () => run("r2", "running")).then((x) => (other = x));
    w.settle("r1", run("r1", "succeeded"));
    expect(await Promise.all(a)).toEqual([{ run: run("r1", "succeeded") }, { run: run("r1", "succeeded") }]);
    await Promise.resolve();
    expect(other).toBeNull();
    w.settle("r2", run("r2", "failed"));
  });

  it("answers the run as it is once the timeout passes, and forgets the waiter", async () => {
    vi.useFakeTimers();
    try {
      const w = new RunWaiters();
      const p = w.wait("r1", 1000, () => run("r1", "queued"));
      vi.advanceTimersByTime(1000);
      expect(await p).toEqual({ run: run("r1", "queued") });
      // A settle after the timeout reaches no one, and the slot it held is free again.
      w.settle("r1", run("r1", "succeeded"));
      for (let i = 0; i < LIMITS.waitersPerRun; i++) void w.wait("r1", 1000, () => run("r1", "queued"));
      expect(await w.wait("r1", 1000, () => run("r1", "queued"))).toEqual({ full: true });
      vi.advanceTimersByTime(1000);
    } finally {
      vi.useRealTimers();
    }
  });

  it("holds at most so many waiters for one agent", async () => {
    vi.useFakeTimers();
    try {
      const w = new RunWaiters({ perRun: 3, perAgent: 5 });
      for (let i = 0; i < 5; i++) void w.wait(`r${i % 3}`, 1000, () => run("x", "queued"));
      expect(await w.wait("another", 1000, () => run("x", "queued"))).toEqual({ full: true });
      vi.advanceTimersByTime(1000);
      const again = w.wait("another", 1000, () => run("another", "queued"));
      vi.advanceTimersByTime(1000);
      expect(await again).toEqual({ run: run("another", "queued") });
    } finally {
      vi.useRealTimers();
    }
  });
});
