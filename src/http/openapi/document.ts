/**
 * The OpenAPI 3.1 document, made from the app's own route table: every route `app.routes` holds
 * is in it, with the access its `requires(...)` declares, and its bodies and queries are the zod
 * schemas the handlers validate with (as JSON Schema, input side: what a client sends).
 */
import { z } from "zod";
import { SCOPES } from "../../protocol/token.js";
import { routeAccess, type Access } from "../access.js";
import { EXAMPLES } from "./examples.js";
import { OPERATIONS, type Operation } from "./operations.js";
import { RESPONSES, RunOut } from "./responses.js";

type Json = Record<string, unknown>;

/**
 * Schemas zod puts in a schema's own `$defs` (a recursive one: the JSON value of a run's inputs
 * and result), moved to components: a "#/$defs/…" reference inside an OpenAPI document would
 * resolve against the document's root, where there is no `$defs`.
 */
const hoisted = new Map<string, { name: string; schema: Json }>();
const schemaOf = (s: z.ZodType, io: "input" | "output" = "input"): Json => {
  // Requests on the input side: a query's numbers arrive as strings and are coerced; transforms are opaque.
  const { $schema: _, $defs, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as Json;
  if (!$defs) return rest;
  const names = new Map<string, string>();
  for (const [local, def] of Object.entries($defs as Record<string, Json>)) {
    const key = JSON.stringify(def).replaceAll(`"#/$defs/${local}"`, '"#self"');
    let entry = hoisted.get(key);
    if (!entry) {
      const isJson = key.includes('{"type":"null"}') && key.includes('"items":{"$ref":"#self"}');
      entry = { name: isJson && ![...hoisted.values()].some((e) => e.name === "JsonValue") ? "JsonValue" : `Schema${hoisted.size + 1}`, schema: {} };
      hoisted.set(key, entry);
    }
    names.set(local, entry.name);
  }
  const relink = (text: string) => [...names].reduce((t, [local, name]) => t.replaceAll(`"#/$defs/${local}"`, `"#/components/schemas/${name}"`), text);
  for (const [local, def] of Object.entries($defs as Record<string, Json>)) {
    const entry = [...hoisted.values()].find((e) => e.name === names.get(local))!;
    entry.schema = JSON.parse(relink(JSON.stringify(def))) as Json;
  }
  return JSON.parse(relink(JSON.stringify(rest))) as Json;
};
/** A success's body schema: the Run component by reference, another described shape inline, else any object. */
const bodyOf = (key: string): Json => {
  const shape = RESPONSES[key];
  if (!shape) return { type: "object" };
  return shape === RunOut ? { $ref: "#/components/schemas/Run" } : schemaOf(shape, "output");
};

/** A media type's `examples` (OpenAPI 3.1: named Example objects), when examples.ts has one. */
const exampleOf = (key: string, part: "body" | "answer"): Json => {
  const value = EXAMPLES[key]?.[part];
  return value === undefined ? {} : { examples: { [part === "body" ? "request" : "answer"]: { value } } };
};

/** "/v1/runs/:run" → "/v1/runs/{run}", and the names of its parameters. */
function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const out = path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => (params.push(name), `{${name}}`));
  return { path: out, params };
}

/** A stable, unique id: method and path words, camel-cased ("GET /v1/runs/:run/events" → getRunsRunEvents). */
export function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter((w) => w && w !== "v1");
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

/** The security requirement and the sentence a reader sees, from the route's declared access. */
function security(access: Access | null): { security: Json[]; note: string } {
  if (!access || "public" in access) return { security: [], note: "No token needed." };
  if ("only" in access) return { security: [{ bearer: [] }], note: `Only a ${access.only.join(" or ")} token (not a workspace token).` };
  const also = access.also?.length ? ` A ${access.also.join(" or ")} token may also call it.` : "";
  const scopes = access.scopes.length ? `Needs a workspace token with the scope${access.scopes.length > 1 ? "s" : ""} ${access.scopes.join(", ")}.` : "Any workspace token.";
  return { security: [{ bearer: access.scopes }], note: scopes + also };
}

const problemRef = (status: number, description: string) => ({ description, content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } } });
const ERROR_TEXT: Record<number, string> = {
  400: "the request is invalid (problem+json lists each error)",
  401: "no valid token",
  403: "the token may not do this",
  404: "no such resource in this workspace",
  409: "the resource's state does not allow this",
  413: "the body is too large",
  426: "a WebSocket upgrade is required",
  429: "too many queued; retry after Retry-After seconds",
};

function success(op: Operation, key: string): Json {
  const [, kind, description] = op.ok;
  switch (kind) {
    case "json": return { description, content: { "application/json": { schema: bodyOf(key), ...exampleOf(key, "answer") } } };
    case "bytes": return { description, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } };
    case "html": return { description, content: { "text/html": { schema: { type: "string" } } } };
    case "sse": return { description, content: { "text/event-stream": { schema: { type: "string" } } } };
    default: return { description };
  }
}

function operation(method: string, path: string, access: Access | null, params: string[]): Json {
  const op: Operation = OPERATIONS[`${method} ${path}`] ?? { tag: "meta", summary: `${method} ${path}`, ok: [200, "json", "OK"] };
  const { security: sec, note } = security(access);
  const isPublic = sec.length === 0;
  const parameters: Json[] = params.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } }));
  if (op.query) {
    const q = schemaOf(op.query) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) parameters.push({ name, in: "query", required: q.required?.includes(name) ?? false, schema });
  }
  const responses: Json = { [String(op.ok[0])]: success(op, `${method} ${path}`) };
  const errors = new Set([...(op.body || op.query || params.length ? [400] : []), ...(isPublic ? [] : [401, 403]), ...(op.body ? [413] : []), ...(op.errors ?? [])]);
  for (const status of [...errors].sort()) responses[String(status)] = problemRef(status, ERROR_TEXT[status] ?? "error");
  return {
    operationId: operationId(method, path),
    tags: [op.tag],
    summary: op.summary,
    description: note,
    security: sec,
    ...(parameters.length && { parameters }),
    ...(op.body && { requestBody: { required: !op.bodyOptional, content: { "application/json": { schema: schemaOf(op.body), ...exampleOf(`${method} ${path}`, "body") } } } }),
    responses,
  };
}

/** The document for an app's routes. Made once per isolate: the route table does not change. */
export function openApiDocument(routes: readonly { method: string; path: string; handler: unknown }[]): Json {
  const run = schemaOf(RunOut, "output");
  const paths: Record<string, Json> = {};
  for (const [key, access] of routeAccess(routes)) {
    const [method, path] = key.split(" ") as [string, string];
    const p = openApiPath(path);
    (paths[p.path] ??= {})[method.toLowerCase()] = operation(method, path, access, p.params);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Tether API",
      version: "1", // the /v1 API
      description: "A control plane for agent jobs: the edge queues and watches, your machines run the work. Every error is problem+json (RFC 9457).",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    tags: ["meta", "agents", "runs", "schedules", "secrets", "tokens", "identity"].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: `A workspace token (tether token create) carries scopes: ${SCOPES.join(", ")}, or * for all. Host and job tokens are minted by Tether itself.`,
        },
      },
      schemas: {
        Run: run,
        ...Object.fromEntries([...hoisted.values()].map((e) => [e.name, e.schema])),
        Problem: {
          type: "object",
          required: ["type", "title", "status", "detail"],
          properties: {
            type: { type: "string", description: "a URI naming the kind of problem" },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string", description: "what went wrong and what to do" },
            errors: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
            existing_run_id: { type: "string", description: "the live run a dedup key refused the submit for" },
          },
        },
      },
    },
  };
}
