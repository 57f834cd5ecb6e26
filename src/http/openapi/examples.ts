/**
 * An example of each operation's request body and main answer, for the OpenAPI document (and so
 * /docs). They are plain values; test/workers/openapi.test.ts parses each with the zod schema
 * the document's JSON Schema for it is made from, so an example that stops matching its schema
 * fails the test rather than misleading a reader.
 */
import { DEFAULT_AGENT_CONFIG } from "../../protocol/agent-config.js";

const AGENT = "builder";
const RUN_ID = "run_0195f2a4c3b17e6d9a0b1c2d3e4f_builder";
const CHILD_ID = "run_0195f2a4c9d07e6d9a0b1c2d3e50_builder";
const SCHEDULE_ID = "sch_0195f2a4c3b17e6d9a0b_builder";
const T0 = "2026-03-08T09:00:00.000Z";
const T1 = "2026-03-08T09:00:00.412Z";
const T2 = "2026-03-08T09:01:12.907Z";

const run = {
  id: RUN_ID,
  agent: AGENT,
  status: "succeeded",
  argv: ["make", "test"],
  stdin_pipe: false,
  runner: null,
  labels: { pr: "123" },
  inputs: { branch: "main" },
  result: { passed: 412, failed: 0 },
  timeout_ms: 3_600_000,
  retry: { max_attempts: 2, on: ["lost"], delay_ms: 1000, backoff: "exponential", max_delay_ms: 60_000 },
  attempt: 1,
  exit_code: 0,
  signal: null,
  error: null,
  cancel_requested: false,
  schedule_id: null,
  scheduled_for: null,
  parent_run_id: null,
  detached: false,
  priority: 5,
  concurrency: null,
  dedup_key: null,
  requires: {},
  prefer: {},
  approval: null,
  created_at: T0,
  started_at: T1,
  ended_at: T2,
};
const queued = { ...run, status: "queued", result: null, attempt: 0, exit_code: null, started_at: null, ended_at: null };
const { inputs: _inputs, result: _result, ...summary } = run;
const runSummary = { ...summary, result_summary: '{"passed":412,"failed":0}' };
const host = {
  host_id: "laptop-7f3a",
  hostname: "laptop.local",
  version: "0.9.0",
  protocol: 2,
  slots: 4,
  free: 3,
  draining: false,
  connected_at: T0,
  policy: { security: "allowlist", ask: "on-miss", sandbox: "bubblewrap", network: true, workspace_access: "rw" },
  runners: ["claude"],
  labels: { os: "linux" },
};
const agent = { name: AGENT, created_at: T0, config: DEFAULT_AGENT_CONFIG, hosts: [host], queued: 2, awaiting_approval: 0, running: 1 };
const schedule = {
  id: SCHEDULE_ID,
  agent: AGENT,
  cron: "0 9 * * 1-5",
  timezone: "Europe/Paris",
  run: { argv: ["make", "nightly"], labels: { kind: "nightly" } },
  enabled: true,
  overlap: "skip",
  misfire: "run_once",
  next_run_at: "2026-03-09T08:00:00.000Z",
  queued_slot: null,
  last_run_at: T0,
  last_run_id: RUN_ID,
  last_status: "succeeded",
  fires: 12,
  skips: 1,
  misfires: 0,
  created_at: "2026-02-20T10:00:00.000Z",
  updated_at: "2026-02-20T10:00:00.000Z",
};
const token = { id: "tok_4f1c2a9b7e6d5c3b2a10", name: "ci", scopes: ["runs:read", "runs:write"], created_at: T0, expires_at: "2026-04-07T09:00:00.000Z", service: false, revoked_at: null };
const events = [
  { id: 1, type: "state", at: T0, status: "queued" },
  { id: 2, type: "attempt_started", at: T1, attempt: 1, host_id: "laptop-7f3a" },
  { id: 3, type: "state", at: T1, status: "running" },
];
const jobSpec = { argv: ["make", "test"], labels: { pr: "123" }, timeout_ms: 600_000 };

export interface Example {
  body?: unknown;
  answer?: unknown;
}

/** Keys as in OPERATIONS. */
export const EXAMPLES: Record<string, Example> = {
  "GET /health": { answer: { ok: true } },
  "GET /.well-known/jwks.json": { answer: { keys: [{ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", kid: "k-2026-03", alg: "EdDSA", use: "sig" }] } },

  "POST /v1/agents": { body: { name: AGENT, config: { max_concurrent: 8, retention_days: 14 } }, answer: { agent: { ...agent, hosts: [], queued: 0, running: 0 }, host_token: "eyJhbGciOiJFZERTQSJ9.eyJraW5kIjoiZW5yb2xsIn0.c2ln" } },
  "GET /v1/agents": { answer: { agents: [{ name: AGENT, created_at: T0, queued: 2, running: 1, hosts: 1, updated_at: T2 }], next_cursor: "eyJuIjoiYnVpbGRlciJ9" } },
  "GET /v1/agents/:agent": { answer: agent },
  "PATCH /v1/agents/:agent": { body: { config: { max_queued: 500, rate_limit: { per_s: 5, burst: 20 } } }, answer: { ...agent, config: { ...DEFAULT_AGENT_CONFIG, max_queued: 500, rate_limit: { per_s: 5, burst: 20 } } } },
  "POST /v1/agents/:agent/host-token": { answer: { host_token: "eyJhbGciOiJFZERTQSJ9.eyJraW5kIjoiZW5yb2xsIn0.c2ln" } },
  "GET /v1/agents/:agent/hosts": { answer: { hosts: [{ host_id: "laptop-7f3a", hostname: "laptop.local", enrolled_at: T0, last_seen_at: T2, connected: true }] } },
  "GET /v1/agents/:agent/status": {
    answer: {
      agent: AGENT,
      at: T2,
      hosts: [{ host_id: "laptop-7f3a", hostname: "laptop.local", version: "0.9.0", labels: { os: "linux" }, slots: 4, busy: 1, draining: false, connected_at: T0, last_heard_at: T2 }],
      queue: { depth: 2, awaiting_approval: 0, oldest_age_ms: 5300, waiting: [{ reason: "every slot is busy", runs: 2 }] },
      running: [{ ...runSummary, status: "running", exit_code: null, ended_at: null, result_summary: null }],
      recent: [runSummary],
      ended: { last_hour: { succeeded: 9, failed: 1 }, last_day: { succeeded: 120, failed: 4, timed_out: 1 } },
      p50_wait_ms: 180,
      p50_run_ms: 72_000,
    },
  },
  "POST /v1/agents/:agent/runs": { body: { ...jobSpec, inputs: { branch: "main" }, idempotency_key: "pr-123-build-1" }, answer: { ...queued, labels: { pr: "123" }, timeout_ms: 600_000 } },

  "POST /v1/agents/:agent/runs/batch": {
    body: { runs: [{ ...jobSpec, inputs: { branch: "main" }, idempotency_key: "pr-123-build-1" }, { ...jobSpec, inputs: { branch: "main" }, dedup_key: "nightly", idempotency_key: "pr-123-build-2" }] },
    answer: {
      results: [
        { created: true, run: { ...queued, labels: { pr: "123" }, timeout_ms: 600_000 } },
        { problem: { type: "urn:tether:problem:duplicate", title: "Conflict", status: 409, detail: `run ${RUN_ID} with dedup_key "nightly" is running; one live run per key`, existing_run_id: RUN_ID } },
      ],
    },
  },

  "PUT /v1/agents/:agent/secrets/:name": { body: { value: "ghp_exampleexample" } },
  "GET /v1/agents/:agent/secrets": { answer: { secrets: [{ name: "GITHUB_TOKEN", updated_at: T0 }] } },

  "GET /v1/runs": { answer: { runs: [runSummary], next_cursor: "eyJjIjoiMjAyNi0wMy0wOFQwOTowMDowMC4wMDBaIn0" } },
  "GET /v1/runs/:run": { answer: run },
  "GET /v1/runs/:run/wait": { answer: run },
  "GET /v1/runs/:run/events": { answer: { events, next_after: 3 } },
  "GET /v1/runs/:run/batch": {
    answer: {
      run: { ...run, status: "running", exit_code: null, result: null, ended_at: null },
      attempt: { number: 1, started_at: T1 },
      output: [{ id: 4, attempt: 1, stream: "stdout", data_base64: "b2sgMSB0ZXN0cwo=" }],
      events,
      log_cursor: 4,
      event_cursor: 3,
      more: false,
    },
  },
  "GET /v1/runs/:run/children": { answer: { runs: [{ ...queued, id: CHILD_ID, argv: ["make", "lint"], parent_run_id: RUN_ID }] } },
  "POST /v1/runs/:run/cancel": { answer: { ...run, status: "running", exit_code: null, result: null, ended_at: null, cancel_requested: true } },
  "POST /v1/runs/:run/input": { body: { data: "yes\n" }, answer: { state: "delivered", seq: 1 } },
  "GET /v1/runs/:run/input": { answer: { waiting: [{ seq: 2, bytes: 4, eof: false }] } },
  "POST /v1/runs/:run/approve": { body: { reason: "checked the diff" }, answer: { ...queued, approval: { state: "approved", reason: "make is not on the host's allowlist", host_id: "laptop-7f3a", asked_at: T0, expires_at: "2026-03-08T10:00:00.000Z", decided_by: "tok_4f1c2a9b7e6d5c3b2a10", decided_at: T1, note: "checked the diff" } } },
  "POST /v1/runs/:run/deny": { body: { reason: "not on a Friday" }, answer: { ...queued, status: "cancelled", ended_at: T1, approval: { state: "denied", reason: "make is not on the host's allowlist", host_id: "laptop-7f3a", asked_at: T0, expires_at: "2026-03-08T10:00:00.000Z", decided_by: "tok_4f1c2a9b7e6d5c3b2a10", decided_at: T1, note: "not on a Friday" } } },

  "POST /v1/agents/:agent/schedules": { body: { cron: "0 9 * * 1-5", timezone: "Europe/Paris", run: { argv: ["make", "nightly"], labels: { kind: "nightly" } } }, answer: { ...schedule, fires: 0, skips: 0, last_run_at: null, last_run_id: null, last_status: null } },
  "GET /v1/schedules": { answer: { schedules: [schedule], next_cursor: SCHEDULE_ID } },
  "GET /v1/schedules/:id": { answer: schedule },
  "PATCH /v1/schedules/:id": { body: { enabled: false }, answer: { ...schedule, enabled: false, next_run_at: null } },
  "POST /v1/schedules/:id/trigger": { answer: { ...queued, argv: ["make", "nightly"], labels: { kind: "nightly" }, schedule_id: SCHEDULE_ID } },
  "GET /v1/schedules/:id/preview": { answer: { cron: "0 9 * * 1-5", timezone: "Europe/Paris", from: T0, times: ["2026-03-09T08:00:00.000Z", "2026-03-10T08:00:00.000Z"] } },
  "GET /v1/schedules/:id/events": { answer: { events: [{ type: "fired", at: T0, slot: T0, run_id: RUN_ID }, { type: "skipped", at: "2026-03-07T08:00:00.000Z", slot: "2026-03-07T08:00:00.000Z", previous_run_id: RUN_ID, reason: "overlap" }] } },

  "POST /v1/tokens": { body: { name: "ci", scopes: ["runs:read", "runs:write"], ttl: 2_592_000 }, answer: { ...token, token: "eyJhbGciOiJFZERTQSJ9.eyJraW5kIjoid29ya3NwYWNlIn0.c2ln" } },
  "GET /v1/tokens": { answer: { tokens: [token] } },
  "POST /v1/id-token": { body: { audience: "https://vault.example" }, answer: { token: "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ3b3Jrc3BhY2UifQ.c2ln", expires_in: 600, issuer: "https://tether.example.com", audience: "https://vault.example" } },
};
