/** Workspace-wide lists, read from the D1 index: `GET /v1/runs` and `GET /v1/agents`. */
import { Hono } from "hono";
import { BadCursor, listAgents, listRuns } from "../../index/read.js";
import { AgentListQuery, RunListQuery } from "../../protocol/run-index.js";
import { requires } from "../access.js";
import { workspaceOf, type AppEnv } from "../auth.js";
import { ProblemError } from "../problem.js";
import { parseOr400 } from "../validate.js";

export const runList = new Hono<AppEnv>();
export const agentList = new Hono<AppEnv>();

/** A cursor that does not decode is the client's mistake: a 400, never a 500. */
async function paged<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof BadCursor) throw new ProblemError(400, "invalid", `the query is invalid: cursor: ${err.message}`);
    throw err;
  }
}

runList.get("/", requires({ scopes: ["runs:read"] }), async (c) => {
  const q = parseOr400(RunListQuery, c.req.query(), "the query is invalid");
  return c.json(await paged(() => listRuns(c.env.INDEX, workspaceOf(c), q)));
});

agentList.get("/", requires({ scopes: ["agents:read"] }), async (c) => {
  const q = parseOr400(AgentListQuery, c.req.query(), "the query is invalid");
  return c.json(await paged(() => listAgents(c.env.INDEX, workspaceOf(c), q)));
});
