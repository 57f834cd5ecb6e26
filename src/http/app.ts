import { Hono } from "hono";
import { authenticate, type AppEnv } from "./auth.js";
import { ProblemError, problemResponse } from "./problem.js";
import { agents } from "./routes/agents.js";
import { runs } from "./routes/runs.js";
import { schedules } from "./routes/schedules.js";

export const app = new Hono<AppEnv>();

app.get("/health", (c) => c.json({ ok: true }));
app.use("/v1/*", authenticate());
app.route("/v1/agents", agents);
app.route("/v1/runs", runs);
app.route("/v1", schedules);

app.notFound(() => problemResponse(new ProblemError(404, "not-found", "no such route").toProblem()));
app.onError(errorResponse);

/** Every error as problem details: the client's own as 4xx, load as 503, and only our faults as 500. */
export function errorResponse(err: Error): Response {
  if (err instanceof ProblemError) return problemResponse(err.toProblem());
  if (isOverload(err)) {
    const res = problemResponse({ type: "urn:tether:problem:overloaded", title: "Service unavailable", status: 503, detail: "the control plane is overloaded right now; retry shortly" });
    res.headers.set("retry-after", "1");
    return res;
  }
  console.error("unhandled", err);
  return problemResponse({ type: "urn:tether:problem:internal", title: "Internal error", status: 500, detail: "something went wrong on our side" });
}

/**
 * Load, not a fault: an object that is overloaded or says to retry, or a runtime out of room
 * for another open database (thousands of live run objects in one local process). The client
 * is told to come back, not that something broke.
 */
function isOverload(err: Error): boolean {
  const e = err as Error & { overloaded?: boolean; retryable?: boolean };
  return e.overloaded === true || e.retryable === true || /SQLITE_NOMEM|SQLITE_FULL|overloaded/i.test(err.message);
}
