import { Hono } from "hono";
import { z } from "zod";
import { agentStub, CLAIMS_HEADER, runStub } from "../../env.js";
import { fromBase64 } from "../../protocol/base64.js";
import { agentOfRun, RunId } from "../../protocol/ids.js";
import { LIMITS } from "../../protocol/limits.js";
import type { RunChange } from "../../protocol/run-change.js";
import { heldOutputRows } from "../../run/read-log.js";
import { ATTEMPT_HEADER, RUN_HEADER } from "../../run/run-do.js";
import { SSE_HEADERS } from "../../run/sse.js";
import type { Context } from "hono";
import { requires } from "../access.js";
import { type AppEnv } from "../auth.js";
import { notFound, ProblemError, problemResponse } from "../problem.js";
import { fromObject } from "./run-object.js";
import { jsonBody, parseOr400 } from "../validate.js";

export const runs = new Hono<AppEnv>();

/** A run id names its agent, whose object owns the run: no lookup stands between a request and it. */
export function runParam(id: string | undefined): { id: string; agent: string } {
  const run = parseOr400(RunId, id, "the run id in the URL is invalid");
  return { id: run, agent: agentOfRun(run)! };
}

export const OutputQuery = z.strictObject({
  stream: z.enum(["stdout", "stderr"]).optional(),
  attempt: z.coerce.number().int().min(1).optional(),
});
export const WatchQuery = z.strictObject({ output: z.enum(["true", "false"]).optional() });
/** How long a call may hold its answer for a run to end: GET /wait's timeout_s, a submit's wait_s. */
export const WaitSeconds = z.coerce.number().int().min(0).max(LIMITS.waitMaxS);
export const WaitQuery = z.strictObject({ timeout_s: WaitSeconds.optional() });
export const StreamQuery = z.strictObject({ attempt: z.coerce.number().int().min(1) });
const EventId = z.coerce.number().int().min(0);

/**
 * Which runs a token reaches: a workspace token any run of its workspace (its route's gate has
 * checked the scope), a job token its own run (reading it) and its own children, no other run.
 */
export async function runAccess(c: Context<AppEnv>, id: string, agent: string, scope: "runs:read" | "runs:write"): Promise<string> {
  const claims = c.get("claims");
  if (claims.kind !== "job") return claims.ws;
  if (claims.run === id && scope === "runs:read") return claims.ws;
  const run = claims.agent === agent ? await agentStub(c.env, claims.ws, agent).getRun(id) : null;
  if (run?.parent_run_id !== claims.run) throw new ProblemError(403, "forbidden", "a job's token reaches its own run and its own children only");
  return claims.ws;
}

const READ = requires({ scopes: ["runs:read"], also: ["job"] });
const WRITE = requires({ scopes: ["runs:write"], also: ["job"] });

runs.get("/:run", READ, async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const run = await agentStub(c.env, await runAccess(c, id, agent, "runs:read"), agent).getRun(id);
  if (!run) throw notFound(`run ${id}`);
  return c.json(run);
});

runs.get("/:run/children", READ, async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const children = await agentStub(c.env, await runAccess(c, id, agent, "runs:read"), agent).children(id);
  if (!children) throw notFound(`run ${id}`);
  return c.json({ runs: children });
});

runs.get("/:run/output", READ, async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const q = parseOr400(OutputQuery, c.req.query(), "the query is invalid");
  const ws = await runAccess(c, id, agent, "runs:read");
  const found = await agentStub(c.env, ws, agent).runObject(id, false);
  if (!found) throw notFound(`run ${id}`);
  // A run without an object has only what its attempts sent with their ends; reading it makes none.
  const body = (await fromObject(found.object, (ifMade) => runStub(c.env, ws, id).output(found.changes, q.stream ?? null, q.attempt ?? null, ifMade))) ?? heldOutput(found.changes, found.run.attempt, q);
  return new Response(body, { headers: { "content-type": "application/octet-stream" } });
});

/** The output bytes of one attempt of a run without an object, as its object would give them. */
function heldOutput(changes: RunChange[], current: number, q: z.infer<typeof OutputQuery>): Uint8Array | null {
  const bytes = heldOutputRows(changes, 0)
    .filter((o) => o.attempt === (q.attempt ?? current) && (!q.stream || o.stream === q.stream))
    .map((o) => o.data);
  if (!bytes.length) return null;
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.byteLength, 0));
  bytes.reduce((at, b) => (out.set(b, at), at + b.byteLength), 0);
  return out;
}

runs.get("/:run/watch", READ, async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const q = parseOr400(WatchQuery, c.req.query(), "the query is invalid");
  const last = c.req.header("last-event-id");
  const after = last === undefined ? 0 : parseOr400(EventId, last, "Last-Event-ID must be an event id");
  const ws = await runAccess(c, id, agent, "runs:read");
  const found = await agentStub(c.env, ws, agent).runObject(id, true);
  if (!found) throw notFound(`run ${id}`);
  const stub = runStub(c.env, ws, id);
  // An ended run whose every event the client has heard: 204 tells an EventSource to stop reconnecting.
  if (after > 0 && !(await stub.hasMore(found.changes, after))) return c.body(null, 204);
  const body = await stub.watch(found.changes, after, q.output !== "false");
  if (!body) {
    const detail = `run ${id} has ${LIMITS.watchersPerRun} live watchers, the most a run may have; retry when one has gone`;
    return problemResponse({ type: "urn:tether:problem:too-many-watchers", title: "Too many requests", status: 429, detail }, { "retry-after": "5" });
  }
  return new Response(body, { headers: SSE_HEADERS });
});

// Waiting for the end is the run's agent's: it costs the run no object, where a watch makes one.
runs.get("/:run/wait", READ, async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const q = parseOr400(WaitQuery, c.req.query(), "the query is invalid");
  const ws = await runAccess(c, id, agent, "runs:read");
  const waited = await agentStub(c.env, ws, agent).waitRun(id, (q.timeout_s ?? LIMITS.waitDefaultS) * 1000);
  if (!waited) throw notFound(`run ${id}`);
  if ("full" in waited) {
    const detail = `run ${id} (or its agent) has as many clients waiting as it may (${LIMITS.waitersPerRun} a run, ${LIMITS.waitersPerAgent} an agent); retry when one has gone`;
    return problemResponse({ type: "urn:tether:problem:too-many-waiters", title: "Too many requests", status: 429, detail }, { "retry-after": "5" });
  }
  return c.json(waited.run);
});

runs.post("/:run/cancel", WRITE, async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const ws = await runAccess(c, id, agent, "runs:write");
  const run = await agentStub(c.env, ws, agent).cancelRun(id, c.get("claims").kind === "job" ? "cancelled by its parent's job" : "cancel requested through the API");
  if (!run) throw notFound(`run ${id}`);
  return c.json(run, 202);
});

export const InputBody = z
  .strictObject({
    data: z.string().optional(),
    data_base64: z.string().refine((t) => fromBase64(t) !== null, "is not base64").optional(),
    eof: z.boolean().optional(),
  })
  .refine((b) => !(b.data !== undefined && b.data_base64 !== undefined), "send data or data_base64, not both")
  .refine((b) => b.data !== undefined || b.data_base64 !== undefined || b.eof === true, "send data, data_base64 or eof: true");

/** Live input for a run's stdin (a run submitted with stdin: {mode: "pipe"}), in order, each byte once. */
runs.post("/:run/input", WRITE, async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const ws = await runAccess(c, id, agent, "runs:write");
  const body = await jsonBody(c, InputBody);
  const bytes = body.data_base64 !== undefined ? fromBase64(body.data_base64)! : new TextEncoder().encode(body.data ?? "");
  if (bytes.byteLength > LIMITS.liveInputBytes) throw new ProblemError(413, "too-large", `one input is at most ${LIMITS.liveInputBytes} bytes`);
  const object = runStub(c.env, ws, id);
  // A running attempt's object answers alone: one call, not two, on the path the input waits on.
  const live = await object.inputLive(bytes, body.eof ?? false);
  if (live) return c.json(live);
  const found = await agentStub(c.env, ws, agent).runObject(id, true);
  if (!found) throw notFound(`run ${id}`);
  return c.json(await object.input(found.changes, bytes, body.eof ?? false));
});

runs.get("/:run/input", READ, async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const ws = await runAccess(c, id, agent, "runs:read");
  const found = await agentStub(c.env, ws, agent).runObject(id, false);
  if (!found) throw notFound(`run ${id}`);
  return c.json({ waiting: (await fromObject(found.object, (ifMade) => runStub(c.env, ws, id).waitingInput(found.changes, ifMade))) ?? [] });
});

/** An attempt's output stream, opened by the host that was given the attempt, with its own credential. */
runs.get("/:run/stream", requires({ only: ["host"] }), async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const claims = c.get("claims");
  if (claims.kind !== "host" || claims.agent !== agent) throw new ProblemError(403, "forbidden", `only a host of agent ${agent}, with its own credential, may stream a run's output`);
  const { attempt } = parseOr400(StreamQuery, c.req.query(), "the query is invalid");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") throw new ProblemError(426, "upgrade-required", "connect with a WebSocket");
  const headers = new Headers(c.req.raw.headers);
  headers.set(CLAIMS_HEADER, JSON.stringify(claims));
  headers.set(RUN_HEADER, id);
  headers.set(ATTEMPT_HEADER, String(attempt));
  return runStub(c.env, claims.ws, id).fetch(new Request(c.req.raw.url, { headers }));
});
