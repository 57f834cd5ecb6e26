/**
 * Zero double fires over 10,000 slots: the real firing code on a real object's SQLite, ticked by
 * alarms that come late, early, twice, out of order and not at all for a while, with submits
 * that fail before or after they went through. Every slot must get exactly one run.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { Timers } from "../../src/agent/timers.js";
import { agentStub } from "../../src/env.js";
import type { Run } from "../../src/protocol/run.js";
import type { AgentSide, ScheduleContext } from "../../src/schedules/context.js";
import { compileCron, upcoming } from "../../src/schedules/cron.js";
import { Firing } from "../../src/schedules/firing.js";
import { ScheduleStore, type ScheduleRow } from "../../src/schedules/store.js";
import { freshWorkspace } from "./helpers.js";
import { ENV } from "./schedules-helpers.js";

const SLOTS = 10_000;

/** A small seeded generator, so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Alarm times: each slot's alarm late by up to 0.8 s, some early, some repeated, neighbours swapped, and outages. */
function deliveries(slots: number[], random: () => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    // An outage of 20-60 slots now and then: no alarm at all until the control plane is back.
    if (random() < 0.002) {
      i += 20 + Math.floor(random() * 40);
      continue;
    }
    if (random() < 0.2) out.push(s - 1 - random() * 2000);
    out.push(s + random() * 800);
    while (random() < 0.3) out.push(s + random() * 3000);
  }
  out.sort((a, b) => a - b);
  // Reordered deliveries: the clock seen by consecutive alarms goes backwards now and then.
  for (let i = 1; i < out.length; i++) if (random() < 0.2) [out[i - 1], out[i]] = [out[i]!, out[i - 1]!];
  return out;
}

describe("exactly once", () => {
  it(`${SLOTS} slots across a daylight-saving change, with duplicated, reordered, early and missing alarms`, { timeout: 120_000 }, async () => {
    const cron = "* * * * *";
    const timezone = "Europe/Berlin";
    const start = Date.parse("2027-10-27T00:00:30Z"); // the repeated hour of 31 October falls inside
    const slots = upcoming(compileCron(cron, timezone), start, SLOTS);
    const random = rng(20271031);
    const ticks = deliveries(slots, random);
    const ws = freshWorkspace();
    const stub = agentStub(ENV, ws, "sim");
    await stub.create(ws, "sim");
    // Each failed submit is logged as it is retried; the count below shows the failures happened.
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);

    const result = await runInDurableObject(stub, async (_agent, state) => {
      let clock = start;
      const runsBySlot = new Map<string, number>();
      const byKey = new Map<string, Run>();
      let n = 0;
      const agent: AgentSide = {
        profile: () => ({ workspace: "sim", name: "sim" }),
        runStatus: () => null,
        // As the agent's submit: a key seen before returns its run. It fails now and then, before or after it went through.
        async submit(_job, opts) {
          if (random() < 0.03) throw new Error("submit failed before it went through");
          const seen = byKey.get(opts.idempotency_key!);
          if (seen) return { run: seen, created: false };
          const run = { id: `run_${(n++).toString(16).padStart(28, "0")}`, status: "succeeded", created_at: new Date(clock).toISOString() } as Run;
          byKey.set(opts.idempotency_key!, run);
          runsBySlot.set(opts.scheduled_for!, (runsBySlot.get(opts.scheduled_for!) ?? 0) + 1);
          if (random() < 0.03) throw new Error("the reply was lost after the submit went through");
          return { run, created: true };
        },
      };
      const c: ScheduleContext = { storage: state.storage, store: new ScheduleStore(state.storage.sql), timers: new Timers(state.storage), env: ENV, agent, clock: () => clock };
      const firing = new Firing(c);
      const at = new Date(start).toISOString();
      const row: ScheduleRow = {
        id: `sch_${"0".repeat(20)}_sim`,
        cron, timezone, run: JSON.stringify({ argv: ["true"] }), enabled: 1, overlap: "allow", misfire: "catch_up",
        created_at: at, updated_at: at, cursor: start, next_run_at: slots[0]!, pending_slot: null,
        last_run_id: null, last_run_at: null, last_status: null, fires: 0, skips: 0, misfires: 0, version: 1,
      };
      c.store.insert(row);
      for (const t of ticks) {
        clock = t;
        await firing.tick(row.id);
      }
      // The control plane keeps running after the last slot: whatever is still to submit goes.
      clock = slots[slots.length - 1]! + 5000;
      for (let i = 0; i < 20; i++) {
        await firing.tick(row.id);
        if (c.store.nextFire(row.id) === null) break;
      }
      return { runsBySlot, fires: c.store.get(row.id)!.fires, left: c.store.nextFire(row.id) };
    });

    const doubles = [...result.runsBySlot].filter(([, count]) => count > 1);
    expect(doubles).toEqual([]);
    const missing = slots.map((s) => new Date(s).toISOString()).filter((s) => !result.runsBySlot.has(s));
    expect(missing).toEqual([]);
    expect(result.runsBySlot.size).toBe(SLOTS);
    expect(result.fires).toBe(SLOTS);
    expect(result.left).toBeNull();
    expect(ticks.length).toBeGreaterThan(SLOTS);
    expect(logged.mock.calls.filter(([m]) => String(m).includes("could not be submitted")).length).toBeGreaterThan(100);
    logged.mockRestore();
  });
});
