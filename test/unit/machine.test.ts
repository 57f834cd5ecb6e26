/** Every cell of the run state machine's table, without workerd: the decisions are a pure function. */
import { describe, expect, it } from "vitest";
import { step, type LifeEvent, type RunRecord } from "../../src/agent/lifecycle/machine.js";
import { DEFAULT_RETRY, type RunStatus } from "../../src/protocol/run.js";

const NOW = Date.parse("2027-01-01T00:00:00Z");

function run(status: RunStatus, over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: "run_0000000000000000000000000000_a",
    agent: "a",
    status,
    argv: ["true"],
    runner: null,
    stdin_pipe: false,
    labels: {},
    inputs: {},
    result: null,
    timeout_ms: 1000,
    retry: DEFAULT_RETRY,
    attempt: status === "queued" ? 0 : 1,
    exit_code: null,
    signal: null,
    error: null,
    cancel_requested: false,
    schedule_id: null,
    scheduled_for: null,
    created_at: "2027-01-01T00:00:00.000Z",
    started_at: status === "queued" ? null : "2027-01-01T00:00:00.000Z",
    ended_at: ["queued", "running"].includes(status) ? null : "2027-01-01T00:00:01.000Z",
    parent_run_id: null,
    detached: false,
    host_id: status === "running" ? "h1" : null,
    rejects: 0,
    depth: 0,
    ...over,
  };
}

const exit = (code: number): LifeEvent => ({ type: "ended", attempt: 1, end: { reason: "exit", exit_code: code, signal: null, error: null } });
const EVENTS: Record<string, LifeEvent> = {
  assign: { type: "assign", attempt: 1, host_id: "h1" },
  ended: exit(0),
  lost: { type: "lost", attempt: 1, why: "gone" },
  expired: { type: "expired", attempt: 1 },
  rejected: { type: "rejected", attempt: 1, reason: "no slot" },
  cancel: { type: "cancel", reason: "asked" },
  queue_timeout: { type: "queue_timeout", why: "waited" },
};

/** The table in machine.ts, cell by cell: the status after, or "refused". */
const TABLE: Record<string, Record<string, string>> = {
  queued: { assign: "running", ended: "refused", lost: "refused", expired: "refused", rejected: "refused", cancel: "cancelled", queue_timeout: "cancelled" },
  running: { assign: "refused", ended: "succeeded", lost: "queued", expired: "timed_out", rejected: "queued", cancel: "running", queue_timeout: "refused" },
};
for (const t of ["succeeded", "failed", "cancelled", "timed_out", "orphaned"]) {
  TABLE[t] = Object.fromEntries(Object.keys(EVENTS).map((e) => [e, e === "cancel" ? t : "refused"]));
}

describe("the run state machine, every status × event", () => {
  for (const [status, row] of Object.entries(TABLE)) {
    for (const [name, expected] of Object.entries(row)) {
      it(`${status} × ${name} → ${expected}`, () => {
        const t = step(run(status as RunStatus), EVENTS[name]!, NOW);
        if (expected === "refused") return expect(t.ok).toBe(false);
        expect(t.ok).toBe(true);
        if (t.ok) expect(t.run.status).toBe(expected);
      });
    }
  }
});

describe("decisions", () => {
  it("cancel is final in every window: a running run asked to cancel ends cancelled whatever ends its attempt", () => {
    const asked = step(run("running"), EVENTS.cancel!, NOW);
    if (!asked.ok) throw new Error(asked.why);
    expect(asked.run.cancel_requested).toBe(true);
    expect(asked.effects).toContainEqual({ type: "stop", host_id: "h1", attempt: 1, how: "cancel", reason: "asked" });
    for (const ev of [exit(0), exit(1), EVENTS.lost!, EVENTS.expired!]) {
      const t = step(asked.run, ev, NOW);
      expect(t.ok && t.run.status).toBe("cancelled");
      expect(t.ok && t.effects.some((e) => e.type === "requeue")).toBe(false);
    }
  });

  it("a second cancel changes nothing", () => {
    const once = step(run("running"), EVENTS.cancel!, NOW);
    const twice = once.ok ? step(once.run, EVENTS.cancel!, NOW) : once;
    expect(twice.ok && twice.run === (once.ok ? once.run : null)).toBe(true);
  });

  it("refuses an event for an attempt that is not the current one (fencing)", () => {
    expect(step(run("running", { attempt: 2 }), exit(0), NOW).ok).toBe(false);
    expect(step(run("running", { attempt: 2 }), EVENTS.lost!, NOW).ok).toBe(false);
  });

  it("retries a lost attempt by its policy, and orphans it once the attempts are spent", () => {
    const lost = step(run("running"), EVENTS.lost!, NOW);
    expect(lost.ok && lost.run.status).toBe("queued");
    expect(lost.ok && lost.effects).toContainEqual({ type: "requeue", delay_ms: DEFAULT_RETRY.delay_ms });
    const last = step(run("running", { attempt: 2, retry: { ...DEFAULT_RETRY, max_attempts: 2 } }), { ...EVENTS.lost!, attempt: 2 } as LifeEvent, NOW);
    expect(last.ok && last.run.status).toBe("orphaned");
  });

  it("a rejected assignment is queued again without spending an attempt of the policy", () => {
    const r = step(run("running", { retry: { ...DEFAULT_RETRY, max_attempts: 1 } }), EVENTS.rejected!, NOW);
    if (!r.ok) throw new Error(r.why);
    expect(r.run).toMatchObject({ status: "queued", rejects: 1 });
    const again = step(r.run, { type: "assign", attempt: 2, host_id: "h2" }, NOW);
    const lost = again.ok ? step(again.run, { type: "lost", attempt: 2, why: "gone" }, NOW) : again;
    // max_attempts 1, one real attempt: a loss is final.
    expect(lost.ok && lost.run.status).toBe("orphaned");
  });

  it("a failed command is final unless the policy retries failures", () => {
    expect(step(run("running"), exit(3), NOW)).toMatchObject({ ok: true, run: { status: "failed", exit_code: 3 } });
    const retried = step(run("running", { retry: { ...DEFAULT_RETRY, on: ["failed"] } }), exit(3), NOW);
    expect(retried.ok && retried.run.status).toBe("queued");
  });

  it("a host that fenced itself reports the attempt lost", () => {
    const t = step(run("running", { retry: { ...DEFAULT_RETRY, max_attempts: 1 } }), { type: "ended", attempt: 1, end: { reason: "fenced", exit_code: null, signal: "SIGTERM", error: null } }, NOW);
    expect(t.ok && t.run.status).toBe("orphaned");
  });

  it("every final status sets ended_at and asks for the settled effect", () => {
    for (const [status, ev] of [["queued", EVENTS.cancel], ["running", exit(0)], ["running", EVENTS.expired]] as const) {
      const t = step(run(status, { retry: { ...DEFAULT_RETRY, max_attempts: 1 } }), ev!, NOW);
      expect(t.ok && t.run.ended_at).toBe(new Date(NOW).toISOString());
      expect(t.ok && t.effects).toContainEqual({ type: "settled" });
    }
  });
});
