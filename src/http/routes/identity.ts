/**
 * Job identity: a running job trades its job token for a short-lived token naming a third party
 * as audience (a cloud, a secrets store), which verifies it against /.well-known/jwks.json, as
 * GitHub Actions' OIDC tokens let a workflow prove who it is.
 */
import { Hono } from "hono";
import { z } from "zod";
import { keySet, signingKeys } from "../../auth/keys.js";
import { AUDIENCE, signJwt } from "../../auth/tokens.js";
import { agentStub } from "../../env.js";
import { PUBLIC, requires } from "../access.js";
import type { AppEnv } from "../auth.js";
import { ProblemError } from "../problem.js";
import { jsonBody } from "../validate.js";

/** Long enough to hand to a cloud's token exchange, short enough that a leaked one soon dies. */
export const ID_TOKEN_TTL_S = 600;

export const IdTokenBody = z.strictObject({
  audience: z
    .string()
    .min(1)
    .max(256)
    .refine((a) => a !== AUDIENCE, "names Tether's own API; an identity token is for someone else"),
});

/** Mounted at the root: the key set is public, the identity route is under /v1 like every API call. */
export const identity = new Hono<AppEnv>();

identity.get("/.well-known/jwks.json", requires(PUBLIC), async (c) => {
  const { jwks } = await keySet(signingKeys(c.env));
  // Verifiers may cache it briefly; a rotation adds the new key before it signs anything.
  return c.json(jwks, 200, { "cache-control": "public, max-age=300" });
});

identity.post("/v1/id-token", requires({ only: ["job"] }), async (c) => {
  const claims = c.get("claims");
  if (claims.kind !== "job") throw new Error("unreachable: the gate admits job tokens only");
  const { audience } = await jsonBody(c, IdTokenBody);
  const run = await agentStub(c.env, claims.ws, claims.agent).getRun(claims.run);
  // Only the attempt that is running now may speak for the run: a stale token of an earlier attempt may not.
  if (!run || run.status !== "running" || run.attempt !== claims.attempt) {
    throw new ProblemError(403, "forbidden", "only a running attempt's job token may ask for an identity token");
  }
  const issuer = c.env.TETHER_ISSUER || new URL(c.req.url).origin;
  const payload = {
    sub: `workspace:${claims.ws}:agent:${claims.agent}:run:${claims.run}`,
    jti: crypto.randomUUID(),
    workspace: claims.ws,
    agent: claims.agent,
    run: claims.run,
    attempt: claims.attempt,
    labels: run.labels,
    schedule: run.schedule_id,
  };
  const token = await signJwt(signingKeys(c.env), payload, ID_TOKEN_TTL_S, { audience, issuer });
  return c.json({ token, expires_in: ID_TOKEN_TTL_S, issuer, audience }, 201);
});
