import { Hono } from "hono";
import { z } from "zod";
import { CLAIMS_HEADER, runStub } from "../../env.js";
import { RunId } from "../../protocol/ids.js";
import { SSE_HEADERS } from "../../run/sse.js";
import { canReadRun, workspaceWith, type AppEnv } from "../auth.js";
import { notFound, ProblemError } from "../problem.js";
import { parseOr400 } from "../validate.js";

export const runs = new Hono<AppEnv>();

const runParam = (id: string | undefined) => parseOr400(RunId, id, "the run id in the URL is invalid");

const OutputQuery = z.strictObject({
  stream: z.enum(["stdout", "stderr"]).optional(),
  attempt: z.coerce.number().int().min(1).optional(),
});
const WatchQuery = z.strictObject({ output: z.enum(["true", "false"]).optional() });
const EventId = z.coerce.number().int().min(0);

runs.get("/:run", async (c) => {
  const id = runParam(c.req.param("run"));
  const run = await runStub(c.env, canReadRun(c, id), id).get();
  if (!run) throw notFound(`run ${id}`);
  return c.json(run);
});

runs.get("/:run/output", async (c) => {
  const id = runParam(c.req.param("run"));
  const q = parseOr400(OutputQuery, c.req.query(), "the query is invalid");
  const body = await runStub(c.env, canReadRun(c, id), id).output(q.stream ?? null, q.attempt ?? null);
  if (!body) throw notFound(`run ${id}`);
  return new Response(body, { headers: { "content-type": "application/octet-stream" } });
});

runs.get("/:run/watch", async (c) => {
  const id = runParam(c.req.param("run"));
  const q = parseOr400(WatchQuery, c.req.query(), "the query is invalid");
  const last = c.req.header("last-event-id");
  const after = last === undefined ? 0 : parseOr400(EventId, last, "Last-Event-ID must be an event id");
  const body = await runStub(c.env, canReadRun(c, id), id).watch(after, q.output !== "false");
  if (!body) throw notFound(`run ${id}`);
  return new Response(body, { headers: SSE_HEADERS });
});

runs.post("/:run/cancel", async (c) => {
  const { ws } = workspaceWith(c, "runs:write");
  const id = runParam(c.req.param("run"));
  const run = await runStub(c.env, ws, id).cancel("cancel requested through the API");
  if (!run) throw notFound(`run ${id}`);
  return c.json(run, 202);
});

/** An attempt's output stream, opened by the host with that attempt's run token. */
runs.get("/:run/stream", async (c) => {
  const id = runParam(c.req.param("run"));
  const claims = c.get("claims");
  if (claims.kind !== "run" || claims.run !== id) throw new ProblemError(403, "forbidden", "only this run's token may stream its output");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") throw new ProblemError(426, "upgrade-required", "connect with a WebSocket");
  const headers = new Headers(c.req.raw.headers);
  headers.set(CLAIMS_HEADER, JSON.stringify(claims));
  const res = await runStub(c.env, claims.ws, id).fetch(new Request(c.req.raw.url, { headers }));
  if (res.status === 404) throw notFound(`run ${id}`);
  return res;
});
