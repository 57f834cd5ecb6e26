import { Hono, type Context } from "hono";
import { agentStub, workspaceStub } from "../../env.js";
import { AgentName } from "../../protocol/ids.js";
import { agentOfSchedule, ScheduleId } from "../../protocol/schedule.js";
import { compileCron, upcoming } from "../../schedules/cron.js";
import { CreateScheduleBody, ListQuery, PatchScheduleBody, PreviewQuery } from "../../schedules/input.js";
import type { Outcome } from "../../schedules/schedules.js";
import { requires } from "../access.js";
import { workspaceOf, type AppEnv } from "../auth.js";
import { notFound, ProblemError } from "../problem.js";
import { jsonBody, parseOr400 } from "../validate.js";

/** Mounted at /v1: schedules are created under their agent and addressed by id after that. */
export const schedules = new Hono<AppEnv>();

const READ = requires({ scopes: ["schedules:read"] });
/** Creating, changing or triggering a schedule makes runs, so it needs the right to make runs too. */
const WRITE_RUNS = requires({ scopes: ["schedules:write", "runs:write"] });
const WRITE = requires({ scopes: ["schedules:write"] });

/** The schedule id from the URL, and the stub of the agent that holds it. */
function target(c: Context<AppEnv>, ws: string) {
  const id = parseOr400(ScheduleId, c.req.param("id"), "the schedule id in the URL is invalid");
  return { id, agent: agentStub(c.env, ws, agentOfSchedule(id)!) };
}

function unwrap<T>(o: Outcome<T>): T {
  if (o.ok) return o.value;
  throw new ProblemError(o.status, o.status === 400 ? "invalid" : o.status === 404 ? "not-found" : "conflict", o.detail);
}

schedules.post("/agents/:agent/schedules", WRITE_RUNS, async (c) => {
  const ws = workspaceOf(c);
  const name = parseOr400(AgentName, c.req.param("agent"), "the agent name in the URL is invalid");
  const body = await jsonBody(c, CreateScheduleBody);
  const created = await agentStub(c.env, ws, name).createSchedule(body);
  if (!created.ok && created.status === 404) throw notFound(`agent ${name}`);
  return c.json(unwrap(created), 201);
});

schedules.get("/schedules", READ, async (c) => {
  const ws = workspaceOf(c);
  const q = parseOr400(ListQuery, c.req.query(), "the query is invalid");
  return c.json(await workspaceStub(c.env, ws).list(q.agent ?? null, q.cursor ?? null, q.limit ?? 100));
});

schedules.get("/schedules/:id", READ, async (c) => {
  const { id, agent } = target(c, workspaceOf(c));
  const schedule = await agent.getSchedule(id);
  if (!schedule) throw notFound(`schedule ${id}`);
  return c.json(schedule);
});

schedules.patch("/schedules/:id", WRITE_RUNS, async (c) => {
  const { id, agent } = target(c, workspaceOf(c));
  const patch = await jsonBody(c, PatchScheduleBody);
  return c.json(unwrap(await agent.updateSchedule(id, patch)));
});

schedules.delete("/schedules/:id", WRITE, async (c) => {
  const { id, agent } = target(c, workspaceOf(c));
  if (!(await agent.deleteSchedule(id))) throw notFound(`schedule ${id}`);
  return c.body(null, 204);
});

schedules.post("/schedules/:id/trigger", WRITE_RUNS, async (c) => {
  const { id, agent } = target(c, workspaceOf(c));
  const run = await agent.triggerSchedule(id);
  if (!run) throw notFound(`schedule ${id}`);
  return c.json(run, 201);
});

schedules.get("/schedules/:id/preview", READ, async (c) => {
  const { id, agent } = target(c, workspaceOf(c));
  const q = parseOr400(PreviewQuery, c.req.query(), "the query is invalid");
  const schedule = await agent.getSchedule(id);
  if (!schedule) throw notFound(`schedule ${id}`);
  const from = q.from === undefined ? Date.now() : Date.parse(q.from);
  const times = upcoming(compileCron(schedule.cron, schedule.timezone), from, q.count ?? 10).map((t) => new Date(t).toISOString());
  return c.json({ cron: schedule.cron, timezone: schedule.timezone, from: new Date(from).toISOString(), times });
});

schedules.get("/schedules/:id/events", READ, async (c) => {
  const { id, agent } = target(c, workspaceOf(c));
  const events = await agent.scheduleEvents(id);
  if (!events) throw notFound(`schedule ${id}`);
  return c.json({ events });
});
