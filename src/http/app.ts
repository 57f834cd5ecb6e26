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
app.onError((err) => {
  if (err instanceof ProblemError) return problemResponse(err.toProblem());
  console.error("unhandled", err);
  return problemResponse({ type: "urn:tether:problem:internal", title: "Internal error", status: 500, detail: "something went wrong on our side" });
});
