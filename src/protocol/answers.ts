/**
 * What the API answers, as zod schemas: the OpenAPI document describes each success with one of
 * these (src/http/openapi/responses.ts), and the SDK's answer types are `z.infer` of the same
 * schemas, so the SDK, the document and the server cannot say three different things.
 *
 * The server builds its answers from the TypeScript interfaces in src/protocol; the type
 * assertions at the end make `tsc` fail the moment a schema and its interface differ in any
 * field, both ways.
 */
import { z } from "zod";
import { AgentConfig } from "./agent-config.js";
import type { AgentView, EnrolledHost, HostView } from "./agent.js";
import type { AgentStatus, HostStatus } from "./agent-status.js";
import { HostPolicySummary } from "./host.js";
import type { EventPage, OutputEntry, RunBatch, RunEventEntry } from "./run-events.js";
import type { AgentPage, AgentSummary, RunPage, RunSummary } from "./run-index.js";
import { JobSpec, RetryPolicy, RunStatus, type Approval, type Json, type Run } from "./run.js";
import { Misfire, Overlap, type Schedule, type ScheduleEvent, type SchedulePage, type SchedulePreview } from "./schedule.js";
import type { SecretView } from "./secret.js";
import { TokenScopes, type TokenRecord } from "./token.js";

const Time = z.string().describe("ISO 8601 time");
const JsonValue = z.json() as unknown as z.ZodType<Json>;
const Strings = z.record(z.string(), z.string());
const Int = z.number().int();

export const ApprovalOut = z.object({
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
  timeout_ms: Int,
  retry: RetryPolicy,
  attempt: Int,
  exit_code: Int.nullable(),
  signal: z.string().nullable(),
  error: z.string().nullable(),
  cancel_requested: z.boolean(),
  schedule_id: z.string().nullable(),
  scheduled_for: Time.nullable(),
  parent_run_id: z.string().nullable(),
  detached: z.boolean(),
  priority: Int.min(0).max(9),
  concurrency: z.object({ key: z.string(), limit: Int, strategy: z.string() }).nullable(),
  dedup_key: z.string().nullable(),
  requires: Strings,
  prefer: Strings,
  approval: ApprovalOut.nullable(),
  created_at: Time,
  started_at: Time.nullable(),
  ended_at: Time.nullable(),
};

export const RunOut = z.object({ ...common, inputs: z.record(z.string(), JsonValue), result: JsonValue.nullable() });
const ProblemOut = z.object({
  type: z.string(),
  title: z.string(),
  status: Int,
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  existing_run_id: z.string().optional(),
  retry_after_s: Int.optional(),
});
/** One submit of a batch: the run it made (created) or found again, or the problem a lone submit would have answered. */
export const SubmitResultOut = z.union([z.object({ created: z.boolean(), run: RunOut }), z.object({ problem: ProblemOut })]);
export const SubmitManyOut = z.object({ results: z.array(SubmitResultOut) });
export const RunSummaryOut = z.object({ ...common, result_summary: z.string().nullable() });
export const RunPageOut = z.object({ runs: z.array(RunSummaryOut), next_cursor: z.string().nullable() });
export const RunListOut = z.object({ runs: z.array(RunOut) });
export const AgentSummaryOut = z.object({ name: z.string(), created_at: Time, queued: Int, running: Int, hosts: Int, updated_at: Time });
export const AgentPageOut = z.object({ agents: z.array(AgentSummaryOut), next_cursor: z.string().nullable() });

export const HostViewOut = z.object({
  host_id: z.string(),
  hostname: z.string(),
  version: z.string(),
  protocol: Int,
  slots: Int,
  free: Int,
  draining: z.boolean(),
  connected_at: Time,
  policy: HostPolicySummary.optional(),
  runners: z.array(z.string()).optional(),
  labels: Strings.optional(),
});
export const AgentOut = z.object({
  name: z.string(),
  created_at: Time,
  config: AgentConfig,
  hosts: z.array(HostViewOut),
  queued: Int,
  awaiting_approval: Int,
  running: Int,
});
export const CreatedAgentOut = z.object({ agent: AgentOut, host_token: z.string() });
export const HostTokenOut = z.object({ host_token: z.string() });
export const EnrolledHostOut = z.object({ host_id: z.string(), hostname: z.string(), enrolled_at: Time, last_seen_at: Time.nullable(), connected: z.boolean() });
export const HostListOut = z.object({ hosts: z.array(EnrolledHostOut) });

export const HostStatusOut = z.object({
  host_id: z.string(),
  hostname: z.string(),
  version: z.string(),
  policy: HostPolicySummary.optional(),
  runners: z.array(z.string()).optional(),
  labels: Strings.optional(),
  slots: Int,
  busy: Int,
  draining: z.boolean(),
  connected_at: Time,
  last_heard_at: Time,
});
export const AgentStatusOut = z.object({
  agent: z.string(),
  at: Time,
  hosts: z.array(HostStatusOut),
  queue: z.object({ depth: Int, awaiting_approval: Int, oldest_age_ms: z.number().nullable(), waiting: z.array(z.object({ reason: z.string(), runs: Int })) }),
  running: z.array(RunSummaryOut),
  recent: z.array(RunSummaryOut),
  ended: z.object({ last_hour: z.partialRecord(RunStatus, Int), last_day: z.partialRecord(RunStatus, Int) }),
  p50_wait_ms: z.number().nullable(),
  p50_run_ms: z.number().nullable(),
});

/** A run event: its id in the run's one sequence, its type and time, and flat values that say more. */
export const RunEventOut = z.object({ id: Int, type: z.string(), at: Time }).catchall(z.union([z.string(), z.number(), z.boolean(), z.null()]));
export const EventPageOut = z.object({ events: z.array(RunEventOut), next_after: Int });
export const OutputEntryOut = z.object({ id: Int, attempt: Int, stream: z.enum(["stdout", "stderr"]), data_base64: z.string() });
export const RunBatchOut = z.object({
  run: RunOut,
  attempt: z.object({ number: Int, started_at: Time.nullable() }).nullable(),
  output: z.array(OutputEntryOut),
  events: z.array(RunEventOut),
  log_cursor: Int,
  event_cursor: Int,
  more: z.boolean(),
});

export const InputOut = z.union([
  z.object({ state: z.enum(["delivered", "queued"]), seq: Int }),
  z.object({ state: z.literal("rejected"), reason: z.string() }),
]);
export const InputWaitingOut = z.object({ waiting: z.array(z.object({ seq: Int, bytes: Int, eof: z.boolean() })) });

export const SecretViewOut = z.object({ name: z.string(), updated_at: Time });
export const SecretListOut = z.object({ secrets: z.array(SecretViewOut) });

export const TokenRecordOut = z.object({
  id: z.string(),
  name: z.string(),
  scopes: TokenScopes,
  created_at: Time,
  expires_at: Time.nullable(),
  service: z.boolean(),
  revoked_at: Time.nullable(),
});
export const CreatedTokenOut = TokenRecordOut.extend({ token: z.string() });
export const TokenListOut = z.object({ tokens: z.array(TokenRecordOut) });
export const IdTokenOut = z.object({ token: z.string(), expires_in: Int, issuer: z.string(), audience: z.string() });

export const ScheduleOut = z.object({
  id: z.string(),
  agent: z.string(),
  cron: z.string(),
  timezone: z.string(),
  run: JobSpec.omit({ env: true, stdin: true }),
  enabled: z.boolean(),
  overlap: Overlap,
  misfire: Misfire,
  next_run_at: Time.nullable(),
  queued_slot: Time.nullable(),
  last_run_at: Time.nullable(),
  last_run_id: z.string().nullable(),
  last_status: RunStatus.nullable(),
  fires: Int,
  skips: Int,
  misfires: Int,
  created_at: Time,
  updated_at: Time,
});
export const SchedulePageOut = z.object({ schedules: z.array(ScheduleOut), next_cursor: z.string().nullable() });
export const SchedulePreviewOut = z.object({ cron: z.string(), timezone: z.string(), from: Time, times: z.array(Time) });
export const ScheduleEventOut = z.discriminatedUnion("type", [
  z.object({ type: z.literal("fired"), at: Time, slot: Time.nullable(), run_id: z.string(), trigger: z.literal(true).optional() }),
  z.object({ type: z.literal("skipped"), at: Time, slot: Time, previous_run_id: z.string().nullable(), reason: z.enum(["overlap", "paused"]) }),
  z.object({ type: z.literal("queued"), at: Time, slot: Time, previous_run_id: z.string().nullable() }),
  z.object({ type: z.literal("misfired"), at: Time, policy: Misfire, missed: Int, first: Time, last: Time }),
]);
export const ScheduleEventListOut = z.object({ events: z.array(ScheduleEventOut) });

export const HealthOut = z.object({ ok: z.literal(true) });
/** A JSON Web Key Set: the public halves of the keys that sign job identity tokens. */
export const JwksOut = z.object({
  keys: z.array(z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string(), kid: z.string(), alg: z.literal("EdDSA"), use: z.literal("sig") })),
});

// Compile-time: each schema's type and the interface it describes are the same, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const check = <T extends true>(_: T) => _;
check<Same<z.infer<typeof ApprovalOut>, Approval>>(true);
check<Same<z.infer<typeof RunOut>, Run>>(true);
check<Same<z.infer<typeof RunSummaryOut>, RunSummary>>(true);
check<Same<z.infer<typeof RunPageOut>, RunPage>>(true);
check<Same<z.infer<typeof AgentSummaryOut>, AgentSummary>>(true);
check<Same<z.infer<typeof AgentPageOut>, AgentPage>>(true);
check<Same<z.infer<typeof HostViewOut>, HostView>>(true);
check<Same<z.infer<typeof AgentOut>, AgentView>>(true);
check<Same<z.infer<typeof EnrolledHostOut>, EnrolledHost>>(true);
check<Same<z.infer<typeof HostStatusOut>, HostStatus>>(true);
check<Same<z.infer<typeof AgentStatusOut>, AgentStatus>>(true);
check<Same<z.infer<typeof RunEventOut>, RunEventEntry>>(true);
check<Same<z.infer<typeof EventPageOut>, EventPage>>(true);
check<Same<z.infer<typeof OutputEntryOut>, OutputEntry>>(true);
check<Same<z.infer<typeof RunBatchOut>, RunBatch>>(true);
check<Same<z.infer<typeof SecretViewOut>, SecretView>>(true);
check<Same<z.infer<typeof TokenRecordOut>, TokenRecord>>(true);
check<Same<z.infer<typeof ScheduleOut>, Schedule>>(true);
check<Same<z.infer<typeof SchedulePageOut>, SchedulePage>>(true);
check<Same<z.infer<typeof SchedulePreviewOut>, SchedulePreview>>(true);
check<Same<z.infer<typeof ScheduleEventOut>, ScheduleEvent>>(true);
