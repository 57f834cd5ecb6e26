/**
 * A run's events and its batch read (for clients that cannot hold a stream), and deleting an
 * ended run. Reads never make the run's object: a run that has none answers from its agent's
 * unconfirmed changes, numbered as its object will number them.
 */
import { Hono } from "hono";
import { agentStub, runStub } from "../../env.js";
import { BATCH_OUTPUT_BYTES, BatchQuery, EventsQuery, type RunBatch } from "../../protocol/run-events.js";
import { eventsOfChanges, outputOfChanges } from "../../run/read-log.js";
import { requires } from "../access.js";
import { type AppEnv } from "../auth.js";
import { notFound, ProblemError } from "../problem.js";
import { parseOr400 } from "../validate.js";
import { runAccess, runParam } from "./runs.js";
import { fromObject } from "./run-object.js";

export const runEvents = new Hono<AppEnv>();

const BATCH_EVENTS = 200;

runEvents.get("/:run/events", requires({ scopes: ["runs:read"], also: ["job"] }), async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const q = parseOr400(EventsQuery, c.req.query(), "the query is invalid");
  const ws = await runAccess(c, id, agent, "runs:read");
  const found = await agentStub(c.env, ws, agent).runObject(id, false);
  if (!found) throw notFound(`run ${id}`);
  const events = (await fromObject(found.object, (ifMade) => runStub(c.env, ws, id).events(found.changes, q.after, q.limit, ifMade))) ?? eventsOfChanges(found.changes, q.after, q.limit);
  return c.json({ events, next_after: events[events.length - 1]?.id ?? q.after });
});

runEvents.get("/:run/batch", requires({ scopes: ["runs:read"], also: ["job"] }), async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const q = parseOr400(BatchQuery, c.req.query(), "the query is invalid");
  const ws = await runAccess(c, id, agent, "runs:read");
  const found = await agentStub(c.env, ws, agent).runObject(id, false);
  if (!found) throw notFound(`run ${id}`);
  const read =
    (await fromObject(found.object, (ifMade) => runStub(c.env, ws, id).batch(found.changes, q.log_cursor, q.event_cursor, BATCH_OUTPUT_BYTES, BATCH_EVENTS, ifMade))) ??
    (() => {
      const events = eventsOfChanges(found.changes, q.event_cursor, BATCH_EVENTS + 1);
      // At most LIMITS.controlOutputBytes per attempt: all of it fits one answer.
      return { output: outputOfChanges(found.changes, q.log_cursor), events: events.slice(0, BATCH_EVENTS), more: events.length > BATCH_EVENTS };
    })();
  const { run } = found;
  const body: RunBatch = {
    run,
    attempt: run.attempt > 0 ? { number: run.attempt, started_at: run.started_at } : null,
    output: read.output,
    events: read.events,
    log_cursor: read.output[read.output.length - 1]?.id ?? q.log_cursor,
    event_cursor: read.events[read.events.length - 1]?.id ?? q.event_cursor,
    more: read.more,
  };
  return c.json(body);
});

runEvents.delete("/:run", requires({ scopes: ["runs:write"] }), async (c) => {
  const { id, agent } = runParam(c.req.param("run"));
  const ws = await runAccess(c, id, agent, "runs:write");
  const done = await agentStub(c.env, ws, agent).deleteRun(id);
  if (!done) throw notFound(`run ${id}`);
  if (done === "live") throw new ProblemError(409, "conflict", `run ${id} has not ended; cancel it first, then delete it`);
  return c.body(null, 204);
});
