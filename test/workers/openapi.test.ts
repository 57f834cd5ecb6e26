/**
 * The OpenAPI document and the pages: every route of the app is in the document with the access
 * its requires(...) declares (a new route fails here until it is described), the document holds
 * together (unique operationIds, path parameters declared, problem+json errors, schemas from zod),
 * and /docs and the dashboard are served under a CSP that allows only this origin.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { routeAccess } from "../../src/http/access.js";
import { app } from "../../src/http/app.js";
import { OPERATIONS } from "../../src/http/openapi/operations.js";
import { RESPONSES } from "../../src/http/openapi/responses.js";
import { SECURITY_HEADERS } from "../../src/http/security-headers.js";
import { direct } from "./direct.js";
import { asInDocument, document, toOpenApi, type Doc, type Op } from "./openapi-helpers.js";


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
    // Every reference resolves within the document (a schema's own "#/$defs/…" would not).
    const refs = [...new Set(JSON.stringify(doc).match(/"\$ref":"[^"]*"/g) ?? [])].map((r) => r.slice(8, -1));
    expect(refs.filter((r) => !(r.startsWith("#/components/schemas/") && r.slice(21) in doc.components.schemas))).toEqual([]);
  });

  it("carries the zod schemas' bodies, queries and answers", async () => {
    const doc = await document();
    const submit = doc.paths["/v1/agents/{agent}/runs"]!.post!;
    const body = submit.requestBody!.content["application/json"]!.schema as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(body.properties.argv).toBeDefined();
    expect(body.additionalProperties).toBe(false);
    // Answers too: the run by reference to its component, a page of runs inline.
    expect(submit.responses["201"]!.content!["application/json"]!.schema).toEqual({ $ref: "#/components/schemas/Run" });
    const run = doc.components.schemas.Run!;
    expect(run.required).toEqual(expect.arrayContaining(["id", "status", "exit_code", "created_at"]));
    const list = doc.paths["/v1/runs"]!.get!;
    const page = (list.responses["200"]!.content!["application/json"] as { schema: { properties: Record<string, unknown> } }).schema;
    expect(Object.keys(page.properties)).toEqual(["runs", "next_cursor"]);
    expect(list.parameters!.filter((p) => p.in === "query").map((p) => p.name)).toEqual(expect.arrayContaining(["status", "agent", "label", "cursor", "limit"]));
  });
});

/**
 * The JSON Schema keywords the document uses, checked as a validator would: a few lines, since an
 * example must hold against the document a reader (or a generated client) sees, not only zod.
 */
function schemaErrors(doc: Doc, schema: unknown, value: unknown, at = "$"): string[] {
  const s = schema as Record<string, unknown>;
  if (typeof s.$ref === "string") return schemaErrors(doc, doc.components.schemas[s.$ref.replace("#/components/schemas/", "")], value, at);
  const errs: string[] = [];
  const typeOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);
  if (s.type !== undefined) {
    const types = ([] as unknown[]).concat(s.type);
    const t = typeOf(value);
    if (!types.includes(t) && !(t === "integer" && types.includes("number"))) return [`${at}: ${t} is not ${types.join("|")}`];
  }
  if ("const" in s && value !== s.const) errs.push(`${at}: not ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.includes(value)) errs.push(`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(s.enum)}`);
  if (typeof value === "number" && typeof s.minimum === "number" && value < s.minimum) errs.push(`${at}: below ${s.minimum}`);
  if (typeof value === "number" && typeof s.maximum === "number" && value > s.maximum) errs.push(`${at}: above ${s.maximum}`);
  if (typeof value === "string" && typeof s.minLength === "number" && value.length < s.minLength) errs.push(`${at}: shorter than ${s.minLength}`);
  if (typeof value === "string" && typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) errs.push(`${at}: does not match ${s.pattern}`);
  for (const key of ["anyOf", "oneOf"] as const) {
    const alts = s[key] as unknown[] | undefined;
    if (alts && !alts.some((alt) => schemaErrors(doc, alt, value, at).length === 0)) errs.push(`${at}: matches none of ${key}`);
  }
  if (Array.isArray(value) && s.items) value.forEach((v, i) => errs.push(...schemaErrors(doc, s.items, v, `${at}[${i}]`)));
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, unknown>;
    for (const r of (s.required ?? []) as string[]) if (!(r in obj)) errs.push(`${at}.${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) errs.push(...schemaErrors(doc, props[k], v, `${at}.${k}`));
      else if (s.additionalProperties === false) errs.push(`${at}.${k}: not allowed`);
      else if (typeof s.additionalProperties === "object") errs.push(...schemaErrors(doc, s.additionalProperties, v, `${at}.${k}`));
      if (s.propertyNames) errs.push(...schemaErrors(doc, s.propertyNames, k, `${at}{${k}}`));
    }
  }
  return errs;
}

/** JSON with every object's keys sorted: equal values, equal text. */
const canonical = (v: unknown): string => JSON.stringify(v, (_, x: unknown) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

describe("examples", () => {
  /** Every operation of the document with its key in OPERATIONS ("METHOD /path"). */
  const operations = (doc: Doc) =>
    [...routeAccess(app.routes).keys()].map((key) => {
      const [method, path] = key.split(" ") as [string, string];
      return { key, op: doc.paths[toOpenApi(path)]![method.toLowerCase()]! };
    });
  const jsonAnswer = (op: Op) => Object.entries(op.responses).find(([status, r]) => Number(status) < 300 && r.content?.["application/json"])?.[1].content!["application/json"];

  it("every request body has an example, valid against the body's JSON Schema in the document and the zod schema the server validates with", async () => {
    const doc = await document();
    const problems: string[] = [];
    let bodies = 0;
    for (const { key, op } of operations(doc)) {
      const media = op.requestBody?.content["application/json"];
      if (!media) continue;
      bodies++;
      const example = media.examples?.request?.value;
      if (example === undefined) { problems.push(`${key}: no example body`); continue; }
      problems.push(...schemaErrors(doc, media.schema, example).map((e) => `${key} body ${e}`));
      const parsed = OPERATIONS[key]!.body!.safeParse(example);
      if (!parsed.success) problems.push(`${key} body: ${parsed.error.message}`);
    }
    expect(problems).toEqual([]);
    expect(bodies).toBeGreaterThanOrEqual(10);
  });

  it("every JSON answer has its schema (the zod schema's JSON Schema) and an example valid against it", async () => {
    const doc = await document();
    const problems: string[] = [];
    for (const { key, op } of operations(doc)) {
      const media = jsonAnswer(op);
      if (!media || key === "GET /v1/openapi.json") continue;
      const shape = RESPONSES[key];
      if (!shape) { problems.push(`${key}: no answer schema in RESPONSES`); continue; }
      const own = media.schema as { $ref?: string };
      expect(own.$ref ? doc.components.schemas[own.$ref.replace("#/components/schemas/", "")] : own, key).toEqual(asInDocument(doc, shape));
      const example = media.examples?.answer?.value;
      if (example === undefined) { problems.push(`${key}: no example answer`); continue; }
      problems.push(...schemaErrors(doc, media.schema, example).map((e) => `${key} answer ${e}`));
      const parsed = shape.safeParse(example);
      if (!parsed.success) problems.push(`${key} answer: ${parsed.error.message}`);
      // Parsing drops fields a schema does not have: an example with one more would pass unseen.
      else if (canonical(parsed.data) !== canonical(example)) problems.push(`${key} answer: has fields its schema does not`);
    }
    expect(problems).toEqual([]);
  });

  it("the validator above refuses what it should", async () => {
    const doc = await document();
    const run = doc.paths["/v1/runs/{run}"]!.get!;
    const media = jsonAnswer(run)!;
    const ok = media.examples!.answer!.value as Record<string, unknown>;
    expect(schemaErrors(doc, media.schema, ok)).toEqual([]);
    expect(schemaErrors(doc, media.schema, { ...ok, status: "sleeping" })).not.toEqual([]);
    expect(schemaErrors(doc, media.schema, { ...ok, extra: 1 })).not.toEqual([]);
    const { id: _, ...noId } = ok;
    expect(schemaErrors(doc, media.schema, noId)).not.toEqual([]);
    expect(schemaErrors(doc, media.schema, { ...ok, exit_code: 1.5 })).not.toEqual([]);
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
