/**
 * Which answer each operation gives, for the OpenAPI document: the zod schemas of
 * src/protocol/answers.ts, the same ones the SDK's answer types are inferred from (and which
 * `tsc` holds equal to the server's interfaces), so the document cannot drift from what the
 * server sends or from what the SDK says it returns.
 */
import type { z } from "zod";
import * as A from "../../protocol/answers.js";

export { AgentPageOut, RunOut, RunPageOut, RunSummaryOut } from "../../protocol/answers.js";

/** Which operations answer which shape (keys as in OPERATIONS); every JSON answer of the API has one. */
export const RESPONSES: Record<string, z.ZodType> = {
  "GET /health": A.HealthOut,
  "GET /.well-known/jwks.json": A.JwksOut,
  "POST /v1/agents": A.CreatedAgentOut,
  "GET /v1/agents": A.AgentPageOut,
  "GET /v1/agents/:agent": A.AgentOut,
  "PATCH /v1/agents/:agent": A.AgentOut,
  "POST /v1/agents/:agent/host-token": A.HostTokenOut,
  "GET /v1/agents/:agent/hosts": A.HostListOut,
  "GET /v1/agents/:agent/status": A.AgentStatusOut,
  "POST /v1/agents/:agent/runs": A.RunOut,
  "POST /v1/agents/:agent/runs/batch": A.SubmitManyOut,
  "GET /v1/agents/:agent/secrets": A.SecretListOut,

  "GET /v1/runs": A.RunPageOut,
  "GET /v1/runs/:run": A.RunOut,
  "GET /v1/runs/:run/wait": A.RunOut,
  "GET /v1/runs/:run/events": A.EventPageOut,
  "GET /v1/runs/:run/batch": A.RunBatchOut,
  "GET /v1/runs/:run/children": A.RunListOut,
  "POST /v1/runs/:run/cancel": A.RunOut,
  "POST /v1/runs/:run/input": A.InputOut,
  "GET /v1/runs/:run/input": A.InputWaitingOut,
  "POST /v1/runs/:run/approve": A.RunOut,
  "POST /v1/runs/:run/deny": A.RunOut,

  "POST /v1/agents/:agent/schedules": A.ScheduleOut,
  "GET /v1/schedules": A.SchedulePageOut,
  "GET /v1/schedules/:id": A.ScheduleOut,
  "PATCH /v1/schedules/:id": A.ScheduleOut,
  "POST /v1/schedules/:id/trigger": A.RunOut,
  "GET /v1/schedules/:id/preview": A.SchedulePreviewOut,
  "GET /v1/schedules/:id/events": A.ScheduleEventListOut,

  "POST /v1/tokens": A.CreatedTokenOut,
  "GET /v1/tokens": A.TokenListOut,
  "POST /v1/id-token": A.IdTokenOut,
};
