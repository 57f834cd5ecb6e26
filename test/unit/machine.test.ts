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
    priority: 5,
    concurrency: null,
    dedup_key: null,
    requires: {},
    prefer: {},
    approval: status === "awaiting_approval" ? { state: "asked", reason: "not allowed", host_id: "h1", asked_at: "2027-01-01T00:00:00.000Z", expires_at: "2027-01-01T01:00:00.000Z", decided_by: null, decided_at: null, note: null } : null,
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
  rejected_ask: { type: "rejected", attempt: 1, reason: "awaiting approval", ask: { why: "not on the allowlist", ttl_ms: 60_000 } },
  approve: { type: "approve", by: "someone", note: null },
  deny: { type: "deny", by: "someone", note: "no" },
  approval_expired: { type: "approval_expired" },
};
const NO_APPROVAL = { approve: "refused", deny: "refused", approval_expired: "refused" };

/** The table in machine.ts, cell by cell: the status after, or "refused". */
const TABLE: Record<string, Record<string, string>> = {
  queued: { assign: "running", ended: "refused", lost: "refused", expired: "refused", rejected: "refused", rejected_ask: "refused", cancel: "cancelled", queue_timeout: "cancelled", ...NO_APPROVAL },
  awaiting_approval: { assign: "refused", ended: "refused", lost: "refused", expired: "refused", rejected: "refused", rejected_ask: "refused", cancel: "cancelled", queue_timeout: "refused", approve: "queued", deny: "cancelled", approval_expired: "cancelled" },
  running: { assign: "refused", ended: "succeeded", lost: "queued", expired: "timed_out", rejected: "queued", rejected_ask: "awaiting_approval", cancel: "running", queue_timeout: "refused", ...NO_APPROVAL },
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

  it("a host that asks holds the run for a person; approved, it is asked no more; denied or expired, it never starts", () => {
    const asked = step(run("running"), EVENTS.rejected_ask!, NOW);
    if (!asked.ok) throw new Error(asked.why);
    expect(asked.run).toMatchObject({ status: "awaiting_approval", host_id: null, rejects: 1, approval: { state: "asked", host_id: "h1", expires_at: new Date(NOW + 60_000).toISOString() } });
    expect(asked.events[0]).toMatchObject({ type: "approval_requested", reason: "not on the allowlist" });
    const approved = step(asked.run, EVENTS.approve!, NOW);
    if (!approved.ok) throw new Error(approved.why);
    expect(approved.run.approval).toMatchObject({ state: "approved", decided_by: "someone" });
    expect(approved.effects).toContainEqual({ type: "requeue", delay_ms: 0 });
    const running = step(approved.run, { type: "assign", attempt: 2, host_id: "h2" }, NOW);
    const again = running.ok ? step(running.run, { ...EVENTS.rejected_ask!, attempt: 2 } as LifeEvent, NOW) : running;
    expect(again.ok && again.run.status).toBe("queued");
    const denied = step(asked.run, EVENTS.deny!, NOW);
    expect(denied).toMatchObject({ ok: true, run: { status: "cancelled", error: "denied: no", approval: { state: "denied" } } });
    const expired = step(asked.run, EVENTS.approval_expired!, NOW);
    expect(expired).toMatchObject({ ok: true, run: { status: "cancelled", approval: { state: "expired" } } });
    expect(step(asked.run, EVENTS.cancel!, NOW)).toMatchObject({ ok: true, run: { status: "cancelled" } });
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

  it("an end that carries the process's start tells of the start first", () => {
    const t = step(run("running"), { ...exit(0), started: { pid: 42, host_id: "h1" } } as LifeEvent, NOW);
    expect(t.ok && t.events.map((e) => e.type)).toEqual(["process_started", "attempt_ended"]);
    expect(t.ok && t.events[0]).toEqual({ type: "process_started", attempt: 1, pid: 42, host_id: "h1" });
    expect(step(run("running"), exit(0), NOW)).toMatchObject({ ok: true, events: [{ type: "attempt_ended" }] });
  });

  it("every final status sets ended_at and asks for the settled effect", () => {
    for (const [status, ev] of [["queued", EVENTS.cancel], ["running", exit(0)], ["running", EVENTS.expired]] as const) {
      const t = step(run(status, { retry: { ...DEFAULT_RETRY, max_attempts: 1 } }), ev!, NOW);
      expect(t.ok && t.run.ended_at).toBe(new Date(NOW).toISOString());
      expect(t.ok && t.effects).toContainEqual({ type: "settled" });
    }
  });
});
