import { Hono } from "hono";
import { z } from "zod";
import { agentStub, CLAIMS_HEADER } from "../../env.js";
import { AgentConfigPatch } from "../../protocol/agent-config.js";
import { AgentName, HostId } from "../../protocol/ids.js";
import { CreateRunBody, CreateRunsBody, isTerminal, type JobSpec, type Run } from "../../protocol/run.js";
import type { Problem } from "../../protocol/problem.js";
import type { Refused, SubmitOptions } from "../../agent/run-plan.js";
import { requires } from "../access.js";
import { workspaceOf, type AppEnv } from "../auth.js";
import { notFound, ProblemError, problemResponse } from "../problem.js";
import { jsonBody, parseOr400 } from "../validate.js";
import { WaitSeconds } from "./runs.js";

export const CreateAgentBody = z.strictObject({ name: AgentName, config: AgentConfigPatch.optional() });
export const UpdateAgentBody = z.strictObject({ config: AgentConfigPatch });
/** `wait_s`: hold the answer until the run has ended or this long has passed, as GET /v1/runs/:run/wait does. */
export const SubmitQuery = z.strictObject({ wait_s: WaitSeconds.optional() });

export const agents = new Hono<AppEnv>();

const agentParam = (name: string | undefined) => parseOr400(AgentName, name, "the agent name in the URL is invalid");

agents.post("/", requires({ scopes: ["agents:write"] }), async (c) => {
  const ws = workspaceOf(c);
  const { name, config } = await jsonBody(c, CreateAgentBody);
  const created = await agentStub(c.env, ws, name).create(ws, name, config);
  if (!created) throw new ProblemError(409, "conflict", `an agent named ${name} exists already`);
  return c.json(created, 201);
});

agents.get("/:agent", requires({ scopes: ["agents:read"] }), async (c) => {
  const ws = workspaceOf(c);
  const name = agentParam(c.req.param("agent"));
  const agent = await agentStub(c.env, ws, name).get();
  if (!agent) throw notFound(`agent ${name}`);
  return c.json(agent);
});

agents.patch("/:agent", requires({ scopes: ["agents:write"] }), async (c) => {
  const ws = workspaceOf(c);
  const name = agentParam(c.req.param("agent"));
  const { config } = await jsonBody(c, UpdateAgentBody);
  const agent = await agentStub(c.env, ws, name).configure(config);
  if (!agent) throw notFound(`agent ${name}`);
  return c.json(agent);
});

agents.delete("/:agent", requires({ scopes: ["agents:write"] }), async (c) => {
  const ws = workspaceOf(c);
  const name = agentParam(c.req.param("agent"));
  if (!(await agentStub(c.env, ws, name).destroy())) throw notFound(`agent ${name}`);
  return c.body(null, 204);
});

agents.post("/:agent/host-token", requires({ scopes: ["agents:write"] }), async (c) => {
  const ws = workspaceOf(c);
  const name = agentParam(c.req.param("agent"));
  const token = await agentStub(c.env, ws, name).rotateHostToken();
  if (!token) throw notFound(`agent ${name}`);
  return c.json({ host_token: token }, 201);
});

agents.post("/:agent/runs", requires({ scopes: ["runs:write"], also: ["job"] }), async (c) => {
  const claims = c.get("claims");
  const name = agentParam(c.req.param("agent"));
  // A running job submits children with its own token, to its own agent only, whatever the request says.
  if (claims.kind === "job" && claims.agent !== name) throw new ProblemError(403, "forbidden", `a job may submit runs to its own agent (${claims.agent}) only`);
  const ws = claims.ws;
  const { wait_s } = parseOr400(SubmitQuery, c.req.query(), "the query is invalid");
  const { job, opts } = jobAndOptions(await jsonBody(c, CreateRunBody));
  const stub = agentStub(c.env, ws, name);
  const submitted = claims.kind === "job" ? await stub.submitChild(claims.run, job, opts) : await stub.submit(job, opts);
  if (!submitted) throw notFound(`agent ${name}`);
  if ("refused" in submitted) {
    const { retry_after_s } = submitted.refused;
    return problemResponse(refusal(submitted), retry_after_s ? { "retry-after": String(retry_after_s) } : {});
  }
  return c.json(await waitedFor(stub, submitted.run, wait_s), submitted.created ? 201 : 200);
});

/**
 * Up to 100 submits in one call, decided in order in one turn of the agent's object. A body
 * that fails its schema changes nothing (400, naming the submit); past that, each submit is
 * answered on its own, as a lone one would be, in `results` in the order sent: a refused one
 * (a full queue, a dedup key's live run) leaves the others made. With an idempotency key on
 * each, the whole batch is safe to send again.
 */
agents.post("/:agent/runs/batch", requires({ scopes: ["runs:write"], also: ["job"] }), async (c) => {
  const claims = c.get("claims");
  const name = agentParam(c.req.param("agent"));
  if (claims.kind === "job" && claims.agent !== name) throw new ProblemError(403, "forbidden", `a job may submit runs to its own agent (${claims.agent}) only`);
  const { runs } = await jsonBody(c, CreateRunsBody);
  const answers = await agentStub(c.env, claims.ws, name).submitMany(runs.map(jobAndOptions), claims.kind === "job" ? claims.run : null);
  if (!answers) throw notFound(`agent ${name}`);
  return c.json({ results: answers.map((a) => ("refused" in a ? { problem: { ...refusal(a), ...(a.refused.retry_after_s && { retry_after_s: a.refused.retry_after_s }) } } : a)) });
});

/** A submit's body as the job and what is said about its submit. */
function jobAndOptions({ idempotency_key, detached, ...job }: z.infer<typeof CreateRunBody>): { job: JobSpec; opts: SubmitOptions } {
  return { job, opts: { ...(idempotency_key !== undefined && { idempotency_key }), ...(detached !== undefined && { detached }) } };
}

/** A refused submit as the problem it answers. */
function refusal({ refused: { status, slug, detail, existing_run_id } }: Refused): Problem {
  return { ...new ProblemError(status, slug, detail).toProblem(), ...(existing_run_id && { existing_run_id }) };
}

/**
 * The run once it has ended, or as it is after `waitS`: one call where a submit and a wait were
 * two. The run exists whatever happens here, so a full waiting list answers it as it is, never 429.
 */
async function waitedFor(stub: ReturnType<typeof agentStub>, run: Run, waitS: number | undefined): Promise<Run> {
  if (!waitS || isTerminal(run.status)) return run;
  const waited = await stub.waitRun(run.id, waitS * 1000);
  return waited && "run" in waited ? waited.run : run;
}

agents.get("/:agent/hosts", requires({ scopes: ["agents:read"] }), async (c) => {
  const ws = workspaceOf(c);
  const name = agentParam(c.req.param("agent"));
  const hosts = await agentStub(c.env, ws, name).listHosts();
  if (!hosts) throw notFound(`agent ${name}`);
  return c.json({ hosts });
});

agents.delete("/:agent/hosts/:host", requires({ scopes: ["agents:write"] }), async (c) => {
  const ws = workspaceOf(c);
  const name = agentParam(c.req.param("agent"));
  const host = parseOr400(HostId, c.req.param("host"), "the host id in the URL is invalid");
  const revoked = await agentStub(c.env, ws, name).revokeHost(host);
  if (revoked === null) throw notFound(`agent ${name}`);
  if (!revoked) throw notFound(`host ${host} of agent ${name}`);
  return c.body(null, 204);
});

/** A host's control socket: enrolling with the agent's enrollment token, or with the host's own credential. */
agents.get("/:agent/connect", requires({ only: ["enroll", "host"] }), async (c) => {
  const claims = c.get("claims");
  const name = agentParam(c.req.param("agent"));
  if ((claims.kind !== "enroll" && claims.kind !== "host") || claims.agent !== name) {
    throw new ProblemError(403, "forbidden", `only agent ${name}'s enrollment token or one of its hosts' credentials may connect as its host`);
  }
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") throw new ProblemError(426, "upgrade-required", "connect with a WebSocket");
  const headers = new Headers(c.req.raw.headers);
  headers.set(CLAIMS_HEADER, JSON.stringify(claims));
  const res = await agentStub(c.env, claims.ws, name).fetch(new Request(c.req.raw.url, { headers }));
  if (res.status === 404) throw notFound(`agent ${name}`);
  if (res.status === 401) throw new ProblemError(401, "unauthorized", await res.text());
  return res;
});
