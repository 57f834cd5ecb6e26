/** `GET /v1/agents/:agent/status`: hosts, queue, running and recent runs, from the agent's own object. */
import { Hono } from "hono";
import { agentStub } from "../../env.js";
import { AgentName } from "../../protocol/ids.js";
import { requires } from "../access.js";
import { workspaceOf, type AppEnv } from "../auth.js";
import { notFound } from "../problem.js";
import { parseOr400 } from "../validate.js";

export const agentStatus = new Hono<AppEnv>();

agentStatus.get("/:agent/status", requires({ scopes: ["agents:read"] }), async (c) => {
  const name = parseOr400(AgentName, c.req.param("agent"), "the agent name in the URL is invalid");
  const status = await agentStub(c.env, workspaceOf(c), name).status();
  if (!status) throw notFound(`agent ${name}`);
  return c.json(status);
});
