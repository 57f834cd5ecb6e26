/**
 * What the OpenAPI document says of each route beyond its path and access: a summary, the zod
 * schemas its handler validates with (the same objects, so the document cannot describe a body
 * the server would refuse), and how it answers. Keyed like `routeAccess`: "METHOD /path".
 *
 * The scopes are not here: they are read from each route's `requires(...)` when the document is
 * made. A route without an entry still appears (with a bare summary), and the OpenAPI test names it.
 */
import type { z } from "zod";
import { EventsQuery, BatchQuery } from "../../protocol/run-events.js";
import { AgentListQuery, RunListQuery } from "../../protocol/run-index.js";
import { ApprovalBody, CreateRunBody, CreateRunsBody } from "../../protocol/run.js";
import { PutSecretBody } from "../../protocol/secret.js";
import { CreateScheduleBody, ListQuery as ScheduleListQuery, PatchScheduleBody, PreviewQuery } from "../../schedules/input.js";
import { CreateAgentBody, SubmitQuery, UpdateAgentBody } from "../routes/agents.js";
import { IdTokenBody } from "../routes/identity.js";
import { InputBody, OutputQuery, StreamQuery, WaitQuery, WatchQuery } from "../routes/runs.js";
import { CreateTokenBody } from "../routes/tokens.js";

/** What a success answers: JSON (the default), raw bytes, an event stream, a socket, or nothing. */
export type Answer = "json" | "html" | "bytes" | "sse" | "websocket" | "empty";

export interface Operation {
  tag: "meta" | "agents" | "runs" | "schedules" | "secrets" | "tokens" | "identity";
  summary: string;
  body?: z.ZodType;
  /** The body may be left out (approve and deny take an optional reason). */
  bodyOptional?: boolean;
  query?: z.ZodType;
  /** The success status and what it carries. */
  ok: [number, Answer, string];
  /** Failure statuses beyond those every authenticated route may answer (400, 401, 403). */
  errors?: number[];
}

const RUN = "the run";
export const OPERATIONS: Record<string, Operation> = {
  "GET /health": { tag: "meta", summary: "Liveness: answers while the Worker runs", ok: [200, "json", "{ok: true}"] },
  "GET /.well-known/jwks.json": { tag: "identity", summary: "The public keys that verify job identity tokens (JWKS)", ok: [200, "json", "a JSON Web Key Set"] },
  "GET /v1/openapi.json": { tag: "meta", summary: "This document", ok: [200, "json", "the OpenAPI 3.1 document"] },
  "GET /": { tag: "meta", summary: "The dashboard (a page; sign in with a token)", ok: [200, "html", "the dashboard"] },
  "GET /docs": { tag: "meta", summary: "This document as a page", ok: [200, "html", "the API reference"] },
  "GET /ui/:file": { tag: "meta", summary: "The pages' script and style", ok: [200, "bytes", "app.js, docs.js or style.css"], errors: [404] },

  "POST /v1/agents": { tag: "agents", summary: "Create an agent (a named pool of hosts with one policy)", body: CreateAgentBody, ok: [201, "json", "the agent"], errors: [409] },
  "GET /v1/agents": { tag: "agents", summary: "List the workspace's agents, a page at a time", query: AgentListQuery, ok: [200, "json", "{agents, next_cursor}"] },
  "GET /v1/agents/:agent": { tag: "agents", summary: "An agent with its configuration", ok: [200, "json", "the agent"], errors: [404] },
  "PATCH /v1/agents/:agent": { tag: "agents", summary: "Change an agent's configuration", body: UpdateAgentBody, ok: [200, "json", "the agent"], errors: [404] },
  "DELETE /v1/agents/:agent": { tag: "agents", summary: "Delete an agent, its runs and schedules", ok: [204, "empty", "deleted"], errors: [404] },
  "POST /v1/agents/:agent/host-token": { tag: "agents", summary: "Mint an enrollment token for a host of this agent", ok: [201, "json", "{host_token}"], errors: [404] },
  "GET /v1/agents/:agent/hosts": { tag: "agents", summary: "The agent's hosts, online and recently gone", ok: [200, "json", "{hosts}"], errors: [404] },
  "DELETE /v1/agents/:agent/hosts/:host": { tag: "agents", summary: "Forget a host: its credential stops working", ok: [204, "empty", "forgotten"], errors: [404] },
  "GET /v1/agents/:agent/connect": { tag: "agents", summary: "A host's control socket (WebSocket; tether-agent opens it)", ok: [101, "websocket", "switching protocols"], errors: [426] },
  "GET /v1/agents/:agent/status": { tag: "agents", summary: "What the agent is doing: hosts, slots, queue", ok: [200, "json", "the agent's status"], errors: [404] },
  "POST /v1/agents/:agent/runs": { tag: "runs", summary: "Submit a run of a job to the agent; with wait_s (at most 60), the answer waits until the run has ended or wait_s has passed", body: CreateRunBody, query: SubmitQuery, ok: [201, "json", RUN], errors: [404, 409, 429] },
  "POST /v1/agents/:agent/runs/batch": { tag: "runs", summary: "Submit up to 100 runs in one call, decided in order; each is answered on its own in `results` (the run, or the problem a lone submit would have answered), so one refused leaves the others made", body: CreateRunsBody, ok: [200, "json", "{results}"], errors: [404] },

  "PUT /v1/agents/:agent/secrets/:name": { tag: "secrets", summary: "Set a secret (write-only)", body: PutSecretBody, ok: [204, "empty", "stored"], errors: [404] },
  "GET /v1/agents/:agent/secrets": { tag: "secrets", summary: "The names of the agent's secrets (never values)", ok: [200, "json", "{secrets}"], errors: [404] },
  "DELETE /v1/agents/:agent/secrets/:name": { tag: "secrets", summary: "Delete a secret", ok: [204, "empty", "deleted"], errors: [404] },

  "GET /v1/runs": { tag: "runs", summary: "List runs with filters, newest first, a page at a time", query: RunListQuery, ok: [200, "json", "{runs, next_cursor}"] },
  "GET /v1/runs/:run": { tag: "runs", summary: "A run", ok: [200, "json", RUN], errors: [404] },
  "DELETE /v1/runs/:run": { tag: "runs", summary: "Delete an ended run and its output", ok: [204, "empty", "deleted"], errors: [404, 409] },
  "GET /v1/runs/:run/events": { tag: "runs", summary: "A run's events in order, a page at a time", query: EventsQuery, ok: [200, "json", "{events, next_after}"], errors: [404] },
  "GET /v1/runs/:run/batch": { tag: "runs", summary: "Events and output since two cursors, in one answer", query: BatchQuery, ok: [200, "json", "{events, output, cursors}"], errors: [404] },
  "GET /v1/runs/:run/children": { tag: "runs", summary: "Runs this run's job submitted", ok: [200, "json", "{runs}"], errors: [404] },
  "GET /v1/runs/:run/output": { tag: "runs", summary: "The run's output, exact bytes", query: OutputQuery, ok: [200, "bytes", "the output bytes"], errors: [404] },
  "GET /v1/runs/:run/wait": { tag: "runs", summary: "The run once it has ended, or as it is after timeout_s (default 30, at most 60): ask again until it has ended", query: WaitQuery, ok: [200, "json", RUN], errors: [404, 429] },
  "GET /v1/runs/:run/watch": { tag: "runs", summary: "Live events and output (Server-Sent Events; resumes by Last-Event-ID)", query: WatchQuery, ok: [200, "sse", "an event stream"], errors: [404] },
  "POST /v1/runs/:run/cancel": { tag: "runs", summary: "Cancel a run", ok: [202, "json", RUN], errors: [404, 409] },
  "POST /v1/runs/:run/input": { tag: "runs", summary: "Send input to a run's stdin (stdin mode pipe)", body: InputBody, ok: [200, "json", "{state, seq} or {state: rejected, reason}"], errors: [404, 409] },
  "GET /v1/runs/:run/input": { tag: "runs", summary: "How much input the job has taken", ok: [200, "json", "{waiting}: input not yet delivered"], errors: [404] },
  "POST /v1/runs/:run/approve": { tag: "runs", summary: "Approve a run its host's policy held for a person", body: ApprovalBody, bodyOptional: true, ok: [200, "json", RUN], errors: [404, 409] },
  "POST /v1/runs/:run/deny": { tag: "runs", summary: "Deny a run held for approval (it ends cancelled)", body: ApprovalBody, bodyOptional: true, ok: [200, "json", RUN], errors: [404, 409] },
  "GET /v1/runs/:run/stream": { tag: "runs", summary: "A host's socket for one attempt's output (WebSocket; tether-agent opens it)", query: StreamQuery, ok: [101, "websocket", "switching protocols"], errors: [426] },

  "POST /v1/agents/:agent/schedules": { tag: "schedules", summary: "Create a schedule (cron) of runs", body: CreateScheduleBody, ok: [201, "json", "the schedule"], errors: [404] },
  "GET /v1/schedules": { tag: "schedules", summary: "List schedules", query: ScheduleListQuery, ok: [200, "json", "{schedules}"] },
  "GET /v1/schedules/:id": { tag: "schedules", summary: "A schedule with its next fire time", ok: [200, "json", "the schedule"], errors: [404] },
  "PATCH /v1/schedules/:id": { tag: "schedules", summary: "Change, pause or resume a schedule", body: PatchScheduleBody, ok: [200, "json", "the schedule"], errors: [404] },
  "DELETE /v1/schedules/:id": { tag: "schedules", summary: "Delete a schedule", ok: [204, "empty", "deleted"], errors: [404] },
  "POST /v1/schedules/:id/trigger": { tag: "schedules", summary: "Fire a schedule now", ok: [201, "json", "the run it made"], errors: [404] },
  "GET /v1/schedules/:id/preview": { tag: "schedules", summary: "The schedule's next fire times", query: PreviewQuery, ok: [200, "json", "{times}"], errors: [404] },
  "GET /v1/schedules/:id/events": { tag: "schedules", summary: "What the schedule did, newest first", ok: [200, "json", "{events}"], errors: [404] },

  "POST /v1/tokens": { tag: "tokens", summary: "Mint a workspace token with scopes", body: CreateTokenBody, ok: [201, "json", "{id, token}"] },
  "GET /v1/tokens": { tag: "tokens", summary: "List the workspace's tokens (never the secrets)", ok: [200, "json", "{tokens}"] },
  "DELETE /v1/tokens/:id": { tag: "tokens", summary: "Revoke a token", ok: [204, "empty", "revoked"], errors: [404] },
  "POST /v1/id-token": { tag: "identity", summary: "A running job's identity token for a third party (OIDC-style JWT)", body: IdTokenBody, ok: [201, "json", "{token, expires_in, issuer, audience}"] },
};
