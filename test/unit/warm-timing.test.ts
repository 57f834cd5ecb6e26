/**
 * When the next process is made ahead: its fork stalls tether-agent for about a millisecond, so
 * it waits for the end report of a job that is over at once, and comes a moment after the take
 * for a job still running; while runs wait in the queue it is not made at all.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_POLICY } from "../../worker-agent/src/policy.js";
import { WarmProcess } from "../../worker-agent/src/warm-process.js";

const roots: string[] = [];
const made: WarmProcess[] = [];

function warmProcess(): { warm: WarmProcess; dirs: () => number } {
  const root = mkdtempSync(join(tmpdir(), "warm-timing-"));
  roots.push(root);
  const warm = new WarmProcess({ bwrap: null, policy: { ...DEFAULT_POLICY, security: "full" }, workRoot: root }, () => undefined);
  made.push(warm);
  // Each process made ahead has a directory of its own until it goes.
  return { warm, dirs: () => readdirSync(root).length };
}

const turn = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
  for (const w of made.splice(0)) w.close();
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

describe.runIf(process.platform === "linux")("the process made ahead", () => {
  it("is made again once the job that took one has sent its end, not before", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { warm, dirs } = warmProcess();
    warm.make();
    const taken = warm.take();
    expect(taken).not.toBeNull();
    // A job that is over at once sends its end within a few milliseconds of its start.
    vi.advanceTimersByTime(5);
    await turn();
    expect(dirs()).toBe(1); // the taken one's only: the job's end is not out yet
    warm.afterEnd();
    await turn();
    expect(dirs()).toBe(2);
    taken!.discard();
  });

  it("is made a moment after the take while the job runs on", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { warm, dirs } = warmProcess();
    warm.make();
    const taken = warm.take();
    expect(dirs()).toBe(1);
    vi.advanceTimersByTime(10);
    expect(dirs()).toBe(2);
    taken!.discard();
  });

  it("is not made while more runs wait behind the jobs, and is again once one comes with none behind it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { warm, dirs } = warmProcess();
    warm.make();
    // The first of a burst: given out while the queue was still empty, it takes the one made.
    const first = warm.take();
    // The next arrive with runs behind them: they start as they come, and nothing is made ahead.
    expect(warm.take(true)).toBeNull();
    vi.advanceTimersByTime(50);
    warm.afterEnd();
    await turn();
    expect(dirs()).toBe(1); // the first job's only
    expect(warm.take(true)).toBeNull();
    warm.afterEnd();
    await turn();
    expect(dirs()).toBe(1);
    // The queue has run dry: the next job is a while off, and is met by one made ahead.
    expect(warm.take(false)).toBeNull();
    warm.afterEnd();
    await turn();
    expect(dirs()).toBe(2);
    first!.discard();
  });

  it("an end with no take pending makes nothing more", async () => {
    const { warm, dirs } = warmProcess();
    warm.make();
    warm.afterEnd();
    await turn();
    expect(dirs()).toBe(1);
  });
});
