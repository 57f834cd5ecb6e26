/**
 * The faces a browser opens: the dashboard at /, the API reference at /docs, and their assets
 * under /ui/. All public: they hold no data; the dashboard's script reads the API with the token
 * the person pastes. Their CSP (security-headers.ts, PAGE_CSP) allows script, style and fetch
 * from this origin only.
 */
import { Hono } from "hono";
import { DASHBOARD_HTML } from "../../ui/dashboard-html.js";
import { DASHBOARD_JS } from "../../ui/dashboard-js.js";
import { DOCS_HTML, DOCS_JS } from "../../ui/docs.js";
import { STYLE_CSS } from "../../ui/style.js";
import { PUBLIC, requires } from "../access.js";
import type { AppEnv } from "../auth.js";
import { notFound } from "../problem.js";

export const pages = new Hono<AppEnv>();

const HTML = "text/html; charset=utf-8";
const ASSETS: Record<string, [string, string]> = {
  "app.js": [DASHBOARD_JS, "text/javascript; charset=utf-8"],
  "docs.js": [DOCS_JS, "text/javascript; charset=utf-8"],
  "style.css": [STYLE_CSS, "text/css; charset=utf-8"],
};

// no-cache: a browser revalidates, so a new deploy's script is never mixed with an old page.
const page = (body: string, type: string) => new Response(body, { headers: { "content-type": type, "cache-control": "no-cache" } });

pages.get("/", requires(PUBLIC), () => page(DASHBOARD_HTML, HTML));
pages.get("/docs", requires(PUBLIC), () => page(DOCS_HTML, HTML));
pages.get("/ui/:file", requires(PUBLIC), (c) => {
  const asset = ASSETS[c.req.param("file")];
  if (!asset) throw notFound(`asset ${c.req.param("file")}`);
  return page(asset[0], asset[1]);
});
