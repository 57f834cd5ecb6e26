/**
 * The main answers' shapes for the OpenAPI document. The server's answer types are TypeScript
 * interfaces (src/protocol), not zod; these schemas describe them, and the type assertions at the
 * end make `tsc` fail the moment a schema and its interface differ in any field, so the
 * document cannot drift from what the server sends.
 */
import { z } from "zod";
import type { AgentPage, AgentSummary, RunPage, RunSummary } from "../../protocol/run-index.js";
import { RetryPolicy, RunStatus, type Approval, type Json, type Run } from "../../protocol/run.js";

const Time = z.string().describe("ISO 8601 time");
const JsonValue = z.json() as unknown as z.ZodType<Json>;
const Strings = z.record(z.string(), z.string());

const ApprovalOut = z.object({
  state: z.enum(["asked", "approved", "denied", "expired"]),
  reason: z.string(),
  host_id: z.string(),
  asked_at: Time,
  expires_at: Time,
  decided_by: z.string().nullable(),
  decided_at: Time.nullable(),
  note: z.string().nullable(),
});

const common = {
  id: z.string(),
  agent: z.string(),
  status: RunStatus,
  argv: z.array(z.string()),
  stdin_pipe: z.boolean(),
  runner: z.literal("claude").nullable(),
  labels: Strings,
  timeout_ms: z.number().int(),
  retry: RetryPolicy,
  attempt: z.number().int(),
  exit_code: z.number().int().nullable(),
  signal: z.string().nullable(),
  error: z.string().nullable(),
  cancel_requested: z.boolean(),
  schedule_id: z.string().nullable(),
  scheduled_for: Time.nullable(),
  parent_run_id: z.string().nullable(),
  detached: z.boolean(),
  priority: z.number().int().min(0).max(9),
  concurrency: z.object({ key: z.string(), limit: z.number().int(), strategy: z.string() }).nullable(),
  dedup_key: z.string().nullable(),
  requires: Strings,
  prefer: Strings,
  approval: ApprovalOut.nullable(),
  created_at: Time,
  started_at: Time.nullable(),
  ended_at: Time.nullable(),
};

export const RunOut = z.object({ ...common, inputs: z.record(z.string(), JsonValue), result: JsonValue.nullable() });
export const RunSummaryOut = z.object({ ...common, result_summary: z.string().nullable() });
export const RunPageOut = z.object({ runs: z.array(RunSummaryOut), next_cursor: z.string().nullable() });
const AgentSummaryOut = z.object({ name: z.string(), created_at: Time, queued: z.number().int(), running: z.number().int(), hosts: z.number().int(), updated_at: Time });
export const AgentPageOut = z.object({ agents: z.array(AgentSummaryOut), next_cursor: z.string().nullable() });

/** Which operations answer which shape (keys as in OPERATIONS). */
export const RESPONSES: Record<string, z.ZodType> = {
  "POST /v1/agents/:agent/runs": RunOut,
  "GET /v1/runs/:run": RunOut,
  "POST /v1/runs/:run/cancel": RunOut,
  "POST /v1/runs/:run/approve": RunOut,
  "POST /v1/runs/:run/deny": RunOut,
  "POST /v1/schedules/:id/trigger": RunOut,
  "GET /v1/runs": RunPageOut,
  "GET /v1/agents": AgentPageOut,
};

// Compile-time: each schema's type and the interface it describes are the same, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const check = <T extends true>(_: T) => _;
check<Same<z.infer<typeof ApprovalOut>, Approval>>(true);
check<Same<z.infer<typeof RunOut>, Run>>(true);
check<Same<z.infer<typeof RunSummaryOut>, RunSummary>>(true);
check<Same<z.infer<typeof RunPageOut>, RunPage>>(true);
check<Same<z.infer<typeof AgentSummaryOut>, AgentSummary>>(true);
check<Same<z.infer<typeof AgentPageOut>, AgentPage>>(true);
