import { Hono } from "hono";
import { PUBLIC, requires } from "./access.js";
import { authenticate, type AppEnv } from "./auth.js";
import { bodyLimit } from "./body-limit.js";
import { cors } from "./cors.js";
import { catchAll, errorResponse } from "./errors.js";
import { methods, MethodTable } from "./methods.js";
import { openApiDocument } from "./openapi/document.js";
import { ProblemError, problemResponse } from "./problem.js";
import { agentStatus } from "./routes/agent-status.js";
import { agents } from "./routes/agents.js";
import { approvals } from "./routes/approvals.js";
import { identity } from "./routes/identity.js";
import { pages } from "./routes/pages.js";
import { runEvents } from "./routes/run-events.js";
import { agentList, runList } from "./routes/run-index.js";
import { runs } from "./routes/runs.js";
import { schedules } from "./routes/schedules.js";
import { secrets } from "./routes/secrets.js";
import { tokens } from "./routes/tokens.js";
import { securityHeaders } from "./security-headers.js";
import { smallAnswersUnencoded } from "./small-answers.js";
import { urlLimit } from "./url-limit.js";
import { yieldWhenBusy } from "./yield-when-busy.js";

export { errorResponse };

export const app = new Hono<AppEnv>();
const table = new MethodTable(app.routes);

// Outermost first: under a burst a call lets the runtime hear its other sockets before anything
// else; the headers land on every answer, errors and refusals included, and no request reaches a
// route (or the token check) until its URL, method and body are in bounds.
app.use(yieldWhenBusy());
app.use(smallAnswersUnencoded());
app.use(securityHeaders());
app.use(cors(table));
app.use(catchAll());
app.use(urlLimit());
app.use(methods(table));
app.use(bodyLimit());

app.get("/health", requires(PUBLIC), (c) => c.json({ ok: true }));
// Public, before the token check: the document describes routes, not a workspace's data, and the
// /docs page and code generators read it without a token.
let openApi: object | undefined;
app.get("/v1/openapi.json", requires(PUBLIC), (c) => c.json((openApi ??= openApiDocument(app.routes))));
app.route("/", pages);
app.use("/v1/*", authenticate());
app.route("/v1/agents", agentList);
app.route("/v1/agents", agentStatus);
app.route("/v1/agents", agents);
app.route("/v1/agents", secrets);
app.route("/v1/runs", runList);
app.route("/v1/runs", runEvents);
app.route("/v1/runs", runs);
app.route("/v1/runs", approvals);
app.route("/v1", schedules);
app.route("/v1/tokens", tokens);
app.route("/", identity);

app.notFound(() => problemResponse(new ProblemError(404, "not-found", "no such route").toProblem()));
app.onError(errorResponse);
