/**
 * A run's life as one pure function: `(run, event, now) → { run, events, effects }`, or a refusal
 * that changes nothing. The agent's object applies the result in one transaction with its lease
 * and queue changes; nothing else ever moves a run from one status to another.
 *
 *  status \ event | assign  | ended                  | lost / expired         | rejected | cancel                  | queue_timeout
 *  -------------- | ------- | ---------------------- | ---------------------- | -------- | ----------------------- | -------------
 *  queued         | running | refused                | refused                | refused  | cancelled               | cancelled
 *  running        | refused | final, or queued again | queued again, or final | queued   | running, cancel asked   | refused
 *  (terminal)     | refused | refused                | refused                | refused  | unchanged               | refused
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
