/**
 * The dashboard's script, served from /ui/app.js (the page's CSP runs no inline script): its
 * parts, one concept each under ./dashboard/, joined inside one function scope. Each part is
 * plain browser JS in a String.raw literal, written without template literals.
 */
import { AGENT_PAGE_JS } from "./dashboard/agent-page.js";
import { ANSI_JS } from "./dashboard/ansi.js";
import { CORE_JS } from "./dashboard/core.js";
import { HOME_JS } from "./dashboard/home.js";
import { LOG_VIEW_JS } from "./dashboard/log-view.js";
import { ROUTER_JS } from "./dashboard/router.js";
import { RUN_PAGE_JS } from "./dashboard/run-page.js";
import { SCHEDULES_PAGE_JS } from "./dashboard/schedules-page.js";
import { WATCH_JS } from "./dashboard/watch.js";

export const DASHBOARD_JS = ["(function () {", '"use strict";', CORE_JS, ANSI_JS, LOG_VIEW_JS, WATCH_JS, HOME_JS, RUN_PAGE_JS, AGENT_PAGE_JS, SCHEDULES_PAGE_JS, ROUTER_JS, "})();"].join("\n");
