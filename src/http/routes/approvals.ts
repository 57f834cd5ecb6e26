/**
 * A person's answer to a run a host's policy held for approval. Its own scope, runs:approve:
 * a token that may submit runs does not by that approve what a host's owner refused.
 */
import { Hono, type Context } from "hono";
import { agentStub } from "../../env.js";
import { agentOfRun, RunId } from "../../protocol/ids.js";
import { ApprovalBody } from "../../protocol/run.js";
import { requires } from "../access.js";
import { workspaceOf, type AppEnv } from "../auth.js";
import { notFound, ProblemError } from "../problem.js";
import { jsonBody, parseOr400 } from "../validate.js";

export const approvals = new Hono<AppEnv>();

async function answer(c: Context<AppEnv>, verdict: "approve" | "deny") {
  const id = parseOr400(RunId, c.req.param("run"), "the run id in the URL is invalid");
  const ws = workspaceOf(c);
  // The reason is optional, and so is a body: an empty POST approves with none.
  const sent = c.req.header("content-type") !== undefined || (c.req.header("content-length") ?? "0") !== "0" || c.req.header("transfer-encoding") !== undefined;
  const body = sent ? await jsonBody(c, ApprovalBody) : {};
  const got = await agentStub(c.env, ws, agentOfRun(id)!).answerApproval(id, verdict, "a workspace token with runs:approve", body.reason ?? null);
  if (!got) throw notFound(`run ${id}`);
  if ("why" in got) throw new ProblemError(409, "conflict", `run ${id} cannot be ${verdict === "approve" ? "approved" : "denied"}: ${got.why}`);
  return c.json(got.run);
}

const APPROVE = requires({ scopes: ["runs:approve"] });
approvals.post("/:run/approve", APPROVE, (c) => answer(c, "approve"));
approvals.post("/:run/deny", APPROVE, (c) => answer(c, "deny"));
