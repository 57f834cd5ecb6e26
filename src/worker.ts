import { app } from "./http/app.js";
import type { Env } from "./env.js";

export { AgentDO } from "./agent/agent-do.js";
export { RunDO } from "./run/run-do.js";
export { WorkspaceDO } from "./schedules/workspace-do.js";

export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
