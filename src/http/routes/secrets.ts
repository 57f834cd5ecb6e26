/**
 * An agent's secrets: set, listed by name, deleted; a value is never given back through the API,
 * only to the runs that name it, on the host, in their environment.
 */
import { Hono } from "hono";
import { agentStub } from "../../env.js";
import { AgentName } from "../../protocol/ids.js";
import { PutSecretBody, SecretName } from "../../protocol/secret.js";
import { requires } from "../access.js";
import { workspaceOf, type AppEnv } from "../auth.js";
import { notFound, ProblemError } from "../problem.js";
import { jsonBody, parseOr400 } from "../validate.js";

export const secrets = new Hono<AppEnv>();

const names = (agent: string | undefined, name?: string) => ({
  agent: parseOr400(AgentName, agent, "the agent name in the URL is invalid"),
  ...(name !== undefined && { name: parseOr400(SecretName, name, "the secret name in the URL is invalid") }),
});

const READ = requires({ scopes: ["agents:read"] });
const WRITE = requires({ scopes: ["agents:write"] });

secrets.put("/:agent/secrets/:name", WRITE, async (c) => {
  const { agent, name } = names(c.req.param("agent"), c.req.param("name"));
  const body = await jsonBody(c, PutSecretBody);
  const done = await agentStub(c.env, workspaceOf(c), agent).putSecret(name!, body.value);
  if (!done.stored) throw done.status === 404 ? notFound(`agent ${agent}`) : new ProblemError(501, "not-configured", done.detail);
  return c.body(null, 204);
});

secrets.get("/:agent/secrets", READ, async (c) => {
  const { agent } = names(c.req.param("agent"));
  const list = await agentStub(c.env, workspaceOf(c), agent).listSecrets();
  if (!list) throw notFound(`agent ${agent}`);
  return c.json({ secrets: list });
});

secrets.delete("/:agent/secrets/:name", WRITE, async (c) => {
  const { agent, name } = names(c.req.param("agent"), c.req.param("name"));
  const gone = await agentStub(c.env, workspaceOf(c), agent).deleteSecret(name!);
  if (gone === null) throw notFound(`agent ${agent}`);
  if (!gone) throw notFound(`secret ${name} of agent ${agent}`);
  return c.body(null, 204);
});
