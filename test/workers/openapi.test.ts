/**
 * The OpenAPI document and the pages: every route of the app is in the document with the access
 * its requires(...) declares (a new route fails here until it is described), the document holds
 * together (unique operationIds, path parameters declared, problem+json errors, schemas from zod),
 * and /docs and the dashboard are served under a CSP that allows only this origin.
 */
import { describe, expect, it } from "vitest";
import { routeAccess } from "../../src/http/access.js";
import { app } from "../../src/http/app.js";
import { OPERATIONS } from "../../src/http/openapi/operations.js";
import { SECURITY_HEADERS } from "../../src/http/security-headers.js";
import { direct } from "./direct.js";

type Op = { operationId: string; summary: string; security: { bearer?: string[] }[]; parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, { content?: Record<string, unknown> }> };
type Doc = { openapi: string; paths: Record<string, Record<string, Op>>; components: { securitySchemes: Record<string, unknown>; schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> } };

async function document(): Promise<Doc> {
  const res = await direct(null, "GET", "/v1/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return JSON.parse(res.text) as Doc;
}
const toOpenApi = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

describe("GET /v1/openapi.json", () => {
  it("has every route of the app, with the scopes its requires(...) declares", async () => {
    const doc = await document();
    const missing: string[] = [];
    const wrong: string[] = [];
    for (const [key, access] of routeAccess(app.routes)) {
      const [method, path] = key.split(" ") as [string, string];
      const op = doc.paths[toOpenApi(path)]?.[method.toLowerCase()];
      if (!op) { missing.push(key); continue; }
      const want = !access || "public" in access ? [] : "only" in access ? [{ bearer: [] }] : [{ bearer: access.scopes }];
      if (JSON.stringify(op.security) !== JSON.stringify(want)) wrong.push(`${key}: ${JSON.stringify(op.security)}, expected ${JSON.stringify(want)}`);
    }
    expect(missing, "routes missing from the OpenAPI document").toEqual([]);
    expect(wrong, "routes whose security differs from their requires(...)").toEqual([]);
  });

  it("describes every route in src/http/openapi/operations.ts, and nothing the app does not have", () => {
    const declared = [...routeAccess(app.routes).keys()];
    expect(declared.filter((k) => !(k in OPERATIONS)), "routes without an entry in OPERATIONS").toEqual([]);
    expect(Object.keys(OPERATIONS).filter((k) => !declared.includes(k)), "entries for routes the app no longer has").toEqual([]);
  });

  it("is structurally valid: 3.1, unique operationIds, declared path parameters, problem+json errors", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path.startsWith("/")).toBe(true);
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item)) {
        expect(["get", "post", "put", "patch", "delete"]).toContain(method);
        expect(op.operationId).toMatch(/^[a-z][A-Za-z0-9]+$/);
        expect(ids.has(op.operationId), `duplicate operationId ${op.operationId}`).toBe(false);
        ids.add(op.operationId);
        expect(op.summary.length).toBeGreaterThan(0);
        const declared = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
        expect(declared.sort(), `${method} ${path} path parameters`).toEqual([...inPath].sort());
        for (const [status, r] of Object.entries(op.responses)) {
          expect(status).toMatch(/^[1-5]\d\d$/);
          if (Number(status) >= 400) expect(Object.keys(r.content ?? {})).toEqual(["application/problem+json"]);
        }
        if (op.security.length) expect(op.responses["401"]).toBeDefined();
      }
    }
  });

  it("carries the zod schemas' bodies, queries and answers", async () => {
    const doc = await document();
    const submit = doc.paths["/v1/agents/{agent}/runs"]!.post!;
    const body = submit.requestBody!.content["application/json"]!.schema as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(body.properties.argv).toBeDefined();
    expect(body.additionalProperties).toBe(false);
    // Answers too: the run by reference to its component, a page of runs inline.
    expect(submit.responses["201"]!.content!["application/json"]).toEqual({ schema: { $ref: "#/components/schemas/Run" } });
    const run = doc.components.schemas.Run!;
    expect(run.required).toEqual(expect.arrayContaining(["id", "status", "exit_code", "created_at"]));
    const list = doc.paths["/v1/runs"]!.get!;
    const page = (list.responses["200"]!.content!["application/json"] as { schema: { properties: Record<string, unknown> } }).schema;
    expect(Object.keys(page.properties)).toEqual(["runs", "next_cursor"]);
    expect(list.parameters!.filter((p) => p.in === "query").map((p) => p.name)).toEqual(expect.arrayContaining(["status", "agent", "label", "cursor", "limit"]));
  });
});

describe("the pages", () => {
  it("serves /docs and the dashboard as HTML with only this origin's script, style and fetch", async () => {
    for (const path of ["/docs", "/", "/ui/app.js", "/ui/docs.js", "/ui/style.css"]) {
      const res = await direct(null, "GET", path);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get("content-security-policy")!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    }
    const html = (await direct(null, "GET", "/docs")).text;
    // Nothing from elsewhere, and no inline script (the CSP would refuse it).
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
  });

  it("keeps the API's CSP everywhere else, errors included", async () => {
    for (const path of ["/v1/runs", "/health", "/ui/nothing.js", "/nowhere"]) {
      expect((await direct(null, "GET", path)).headers.get("content-security-policy"), path).toBe(SECURITY_HEADERS["content-security-policy"]);
    }
  });
});
