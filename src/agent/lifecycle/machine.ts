/**
 * A run's life as one pure function: `(run, event, now) → { run, events, effects }`, or a refusal
 * that changes nothing. The agent's object applies the result in one transaction with its lease
 * and queue changes; nothing else ever moves a run from one status to another.
 *
 *  status \ event    | assign  | ended                  | lost / expired         | rejected                   | cancel                | queue_timeout | approve | deny / approval_expired
 *  ----------------- | ------- | ---------------------- | ---------------------- | -------------------------- | --------------------- | ------------- | ------- | -----------------------
 *  queued            | running | refused                | refused                | refused                    | cancelled             | cancelled     | refused | refused
 *  awaiting_approval | refused | refused                | refused                | refused                    | cancelled             | refused       | queued  | cancelled
 *  running           | refused | final, or queued again | queued again, or final | queued, or awaiting (ask)  | running, cancel asked | refused       | refused | refused
 *  (terminal)        | refused | refused                | refused                | refused                    | unchanged             | refused       | refused | refused
 *
 * A host asks for approval only for a run not yet approved: an approved run it refuses goes back
 * to the queue like any other rejection.
 *
 * A running run whose cancel was asked ends `cancelled` whatever ends its attempt: cancel is
 * final in every window. Events for an attempt other than the current one are refused (fencing).
 */
import { isTerminal } from "../../protocol/run.js";
import { retryDelay, type Outcome } from "../../run/retry.js";
import { endVerdict } from "./end-verdict.js";
import type { Effect, EndReport, LifeEvent, RunEvent, RunRecord, Transition } from "./types.js";

export type { Effect, EndReport, LifeEvent, RunEvent, RunRecord, Transition };

export function step(run: RunRecord, ev: LifeEvent, now: number): Transition {
  const at = new Date(now).toISOString();
  if (isTerminal(run.status)) {
    if (ev.type === "cancel") return { ok: true, run, events: [], effects: [] };
    return refuse(`the run has ended (${run.status})`);
  }
  switch (ev.type) {
    case "cancel":
      if (run.status === "awaiting_approval") return end(run, at, { status: "cancelled", error: `cancelled: ${ev.reason}` }, [{ type: "cancelled", reason: ev.reason }]);
      if (run.status === "queued") return end(run, at, { status: "cancelled", error: `cancelled: ${ev.reason}` }, [{ type: "cancelled", reason: ev.reason }]);
      if (run.cancel_requested) return { ok: true, run, events: [], effects: [] };
      return {
        ok: true,
        run: { ...run, cancel_requested: true },
        events: [{ type: "cancel_requested", reason: ev.reason, attempt: run.attempt }],
        effects: [{ type: "stop", host_id: run.host_id!, attempt: run.attempt, how: "cancel", reason: ev.reason }],
      };
    case "queue_timeout":
      if (run.status !== "queued") return refuse("the run is not waiting in the queue");
      return end(run, at, { status: "cancelled", error: `cancelled: ${ev.why}` }, [{ type: "queue_timeout", reason: ev.why }]);
    case "approve":
    case "deny":
    case "approval_expired":
      return decide(run, ev, at);
    case "assign":
      if (run.status !== "queued") return refuse("the run is not waiting in the queue");
      return {
        ok: true,
        run: { ...run, status: "running", attempt: ev.attempt, host_id: ev.host_id, started_at: run.started_at ?? at, exit_code: null, signal: null, error: null },
        events: [{ type: "attempt_started", attempt: ev.attempt, host_id: ev.host_id }],
        effects: [],
      };
  }
  if (run.status !== "running" || ev.attempt !== run.attempt) return refuse(`attempt ${ev.attempt} is not the run's current attempt`);
  switch (ev.type) {
    case "rejected":
      if (ev.ask && run.approval?.state !== "approved") {
        const approval = { state: "asked" as const, reason: ev.ask.why, host_id: run.host_id!, asked_at: at, expires_at: new Date(now + ev.ask.ttl_ms).toISOString(), decided_by: null, decided_at: null, note: null };
        return {
          ok: true,
          run: { ...run, status: "awaiting_approval", host_id: null, rejects: run.rejects + 1, approval },
          events: [{ type: "approval_requested", attempt: ev.attempt, host_id: approval.host_id, reason: ev.ask.why, expires_at: approval.expires_at }],
          effects: [],
        };
      }
      // A host that could not take the job after all: no attempt of the policy is spent on it.
      return {
        ok: true,
        run: { ...run, status: "queued", host_id: null, rejects: run.rejects + 1 },
        events: [{ type: "attempt_rejected", attempt: ev.attempt, reason: ev.reason }],
        effects: [{ type: "requeue", delay_ms: 0 }],
      };
    case "ended": {
      const verdict = endVerdict(ev.end);
      const events: RunEvent[] = [{ type: "attempt_ended", attempt: ev.attempt, reason: ev.end.reason, exit_code: ev.end.exit_code, signal: ev.end.signal }];
      if (ev.started) events.unshift({ type: "process_started", attempt: ev.attempt, pid: ev.started.pid, host_id: ev.started.host_id });
      // The result is the attempt's own: a retry that returns nothing has no result.
      if (ev.end.result_error) events.push({ type: "result_invalid", attempt: ev.attempt, reason: ev.end.result_error });
      const result = ev.end.result ? (JSON.parse(ev.end.result) as RunRecord["result"]) : null;
      return settle({ ...run, result }, at, verdict.outcome, verdict.final, events, []);
    }
    case "lost":
      return settle(run, at, "lost", { status: "orphaned", error: `lost: ${ev.why}` }, [{ type: "lease_lost", attempt: ev.attempt, reason: ev.why }], [
        { type: "stop", host_id: run.host_id!, attempt: ev.attempt, how: "revoke", reason: "lease lost" },
      ]);
    case "expired":
      return settle(
        run,
        at,
        "timed_out",
        { status: "timed_out", error: "timed out: the host did not report the end before the deadline" },
        [{ type: "timed_out", attempt: ev.attempt, reason: "deadline passed at the control plane" }],
        [{ type: "stop", host_id: run.host_id!, attempt: ev.attempt, how: "revoke", reason: "timed out" }],
      );
  }
}

/** A person's answer to a run awaiting approval, or the time to give one running out. */
function decide(run: RunRecord, ev: Extract<LifeEvent, { type: "approve" | "deny" | "approval_expired" }>, at: string): Transition {
  if (run.status !== "awaiting_approval" || !run.approval) return refuse("the run is not awaiting approval");
  if (ev.type === "approve") {
    return {
      ok: true,
      run: { ...run, status: "queued", approval: { ...run.approval, state: "approved", decided_by: ev.by, decided_at: at, note: ev.note } },
      events: [{ type: "approved", by: ev.by, note: ev.note }],
      effects: [{ type: "requeue", delay_ms: 0 }],
    };
  }
  if (ev.type === "deny") {
    const approval = { ...run.approval, state: "denied" as const, decided_by: ev.by, decided_at: at, note: ev.note };
    return end({ ...run, approval }, at, { status: "cancelled", error: `denied${ev.note ? `: ${ev.note}` : ""}` }, [{ type: "denied", by: ev.by, note: ev.note }]);
  }
  const approval = { ...run.approval, state: "expired" as const, decided_at: at };
  return end({ ...run, approval }, at, { status: "cancelled", error: `cancelled: no one approved the run before ${run.approval.expires_at}` }, [{ type: "approval_expired", reason: "no answer in time" }]);
}

/** An attempt ended: the run is cancelled if that was asked, tried again if its policy says so, or final. */
function settle(run: RunRecord, at: string, outcome: Outcome | null, final: Partial<RunRecord>, events: RunEvent[], effects: Effect[]): Transition {
  if (run.cancel_requested) return end(run, at, { ...final, status: "cancelled", error: "cancelled" }, events, effects);
  const counted = run.attempt - run.rejects;
  const delay = outcome ? retryDelay(run.retry, counted, outcome) : null;
  if (delay === null) return end(run, at, final, events, effects);
  const { exit_code = null, signal = null, error = null } = final;
  return {
    ok: true,
    run: { ...run, status: "queued", host_id: null, exit_code, signal, error },
    events: [...events, { type: "retry_scheduled", attempt: run.attempt + 1, delay_ms: delay, reason: outcome, of: run.retry.max_attempts }],
    effects: [...effects, { type: "requeue", delay_ms: delay }],
  };
}

function end(run: RunRecord, at: string, final: Partial<RunRecord>, events: RunEvent[], effects: Effect[] = []): Transition {
  return { ok: true, run: { ...run, ...final, host_id: null, ended_at: at }, events, effects: [...effects, { type: "settled" }] };
}

const refuse = (why: string): Transition => ({ ok: false, why });
