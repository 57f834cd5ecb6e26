/**
 * The SDK held to the OpenAPI document. For every public method of TetherClient (a method added
 * without a row here fails): the request it really sends is an operation of the document (its
 * path, its query parameters, a body the server's zod schema accepts), and the answer the SDK
 * says it returns is `z.infer` of the schema whose JSON Schema the document gives for that
 * operation's success (tsc checks the types, the test the document). Fed the document's example
 * answer, the SDK returns it.
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { TetherClient } from "../../src/client/sdk.js";
import { OPERATIONS } from "../../src/http/openapi/operations.js";
import { RESPONSES } from "../../src/http/openapi/responses.js";
import * as A from "../../src/protocol/answers.js";
import { asInDocument, document, toOpenApi, type Doc } from "./openapi-helpers.js";

const RUN = "run_0195f2a4c3b17e6d9a0b1c2d3e4f_builder";
const SCHEDULE = "sch_0195f2a4c3b17e6d9a0b_builder";

type Method = { [K in keyof TetherClient]: TetherClient[K] extends (...a: never[]) => unknown ? K : never }[keyof TetherClient];
/** What a method gives: its promise's value, or for a list's async iterator, its items. */
type Answer<M extends Method> = ReturnType<TetherClient[M]> extends AsyncIterable<infer T> ? T[] : Awaited<ReturnType<TetherClient[M]>>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

interface Row {
  /** "METHOD /path" as in OPERATIONS. */
  op: string;
  call: (c: TetherClient) => Promise<unknown>;
  /** The answer's schema, and the field of it the SDK returns (or the whole). */
  schema?: z.ZodType;
  field?: string;
  /** The method is an async iterator over pages of `field`. */
  iterates?: boolean;
  /** An operation the method goes on to when the first answers a run that has not ended; its answer is then the method's. */
  then?: string;
}

/**
 * A row for a method answering JSON: tsc refuses it (a required argument of type never) unless
 * the method's answer is exactly `z.infer` of `schema` (or of its `field`).
 */
function json<M extends Method, S extends z.ZodType, K extends keyof z.infer<S> | undefined = undefined>(
  _method: M,
  op: string,
  schema: S,
  call: (c: TetherClient) => Promise<unknown> | AsyncIterable<unknown>,
  field?: K,
  ..._typesMatch: Same<Answer<M>, K extends keyof z.infer<S> ? z.infer<S>[K] : z.infer<S>> extends true ? [] : [never]
): Row {
  return {
    op,
    schema,
    ...(field !== undefined && { field: field as string }),
    call: async (c) => {
      const r = call(c);
      if (!(Symbol.asyncIterator in (r as object))) return r;
      return { iterator: r as AsyncIterable<unknown> };
    },
  };
}
/** A row for a method whose answer is not JSON (nothing, bytes, an event stream). */
const other = (op: string, call: (c: TetherClient) => Promise<unknown>): Row => ({ op, call });

const ROWS: Record<Method, Row> = {
  createAgent: json("createAgent", "POST /v1/agents", A.CreatedAgentOut, (c) => c.createAgent("builder", { max_concurrent: 8 })),
  configureAgent: json("configureAgent", "PATCH /v1/agents/:agent", A.AgentOut, (c) => c.configureAgent("builder", { max_queued: 500 })),
  getAgent: json("getAgent", "GET /v1/agents/:agent", A.AgentOut, (c) => c.getAgent("builder")),
  deleteAgent: other("DELETE /v1/agents/:agent", (c) => c.deleteAgent("builder")),
  rotateHostToken: json("rotateHostToken", "POST /v1/agents/:agent/host-token", A.HostTokenOut, (c) => c.rotateHostToken("builder")),
  listHosts: json("listHosts", "GET /v1/agents/:agent/hosts", A.HostListOut, (c) => c.listHosts("builder"), "hosts"),
  revokeHost: other("DELETE /v1/agents/:agent/hosts/:host", (c) => c.revokeHost("builder", "laptop-7f3a")),
  listAgents: json("listAgents", "GET /v1/agents", A.AgentPageOut, (c) => c.listAgents({ limit: 10, cursor: "c" })),
  agents: json("agents", "GET /v1/agents", A.AgentPageOut, (c) => c.agents({ limit: 10 }), "agents"),
  agentStatus: json("agentStatus", "GET /v1/agents/:agent/status", A.AgentStatusOut, (c) => c.agentStatus("builder")),
  status: json("status", "GET /v1/agents/:agent/status", A.AgentStatusOut, (c) => c.status("builder")),

  submit: json("submit", "POST /v1/agents/:agent/runs", A.RunOut, (c) => c.submit("builder", { argv: ["make", "test"], concurrency: { key: "k", limit: 1 }, priority: "high" })),
  submitMany: json("submitMany", "POST /v1/agents/:agent/runs/batch", A.SubmitManyOut, (c) => c.submitMany("builder", [{ argv: ["make", "test"] }, { argv: ["make", "lint"], idempotency_key: "k-1" }]), "results"),
  get: json("get", "GET /v1/runs/:run", A.RunOut, (c) => c.get(RUN)),
  listRuns: json("listRuns", "GET /v1/runs", A.RunPageOut, (c) => c.listRuns({ agent: "builder", status: ["failed", "timed_out"], label: { pr: "1" }, q: "make", limit: 5 })),
  runs: json("runs", "GET /v1/runs", A.RunPageOut, (c) => c.runs({ status: "failed", created_after: "2026-03-01T00:00:00Z" }), "runs"),
  cancel: json("cancel", "POST /v1/runs/:run/cancel", A.RunOut, (c) => c.cancel(RUN)),
  deleteRun: other("DELETE /v1/runs/:run", (c) => c.deleteRun(RUN)),
  approve: json("approve", "POST /v1/runs/:run/approve", A.RunOut, (c) => c.approve(RUN, "looked")),
  deny: json("deny", "POST /v1/runs/:run/deny", A.RunOut, (c) => c.deny(RUN)),
  output: other("GET /v1/runs/:run/output", (c) => c.output(RUN, { stream: "stderr", attempt: 2 })),
  input: json("input", "POST /v1/runs/:run/input", A.InputOut, (c) => c.input(RUN, new Uint8Array([0xff, 0x0a]), { eof: true })),
  inputWaiting: json("inputWaiting", "GET /v1/runs/:run/input", A.InputWaitingOut, (c) => c.inputWaiting(RUN), "waiting"),
  children: json("children", "GET /v1/runs/:run/children", A.RunListOut, (c) => c.children(RUN), "runs"),
  runEvents: json("runEvents", "GET /v1/runs/:run/events", A.EventPageOut, (c) => c.runEvents(RUN, { after: 3, limit: 10 })),
  events: json("events", "GET /v1/runs/:run/events", A.EventPageOut, (c) => c.events(RUN), "events"),
  runBatch: json("runBatch", "GET /v1/runs/:run/batch", A.RunBatchOut, (c) => c.runBatch(RUN, { log_cursor: 4, event_cursor: 3 })),
  watch: other("GET /v1/runs/:run/watch", async (c) => {
    const out = [];
    for await (const ev of c.watch(RUN, { output: false })) out.push(ev);
    return out;
  }),
  wait: json("wait", "GET /v1/runs/:run/wait", A.RunOut, (c) => c.wait(RUN)),
  run: { ...json("run", "POST /v1/agents/:agent/runs", A.RunOut, (c) => c.run("builder", { argv: ["make", "test"] })), then: "GET /v1/runs/:run/wait" },

  putSecret: other("PUT /v1/agents/:agent/secrets/:name", (c) => c.putSecret("builder", "GITHUB_TOKEN", "ghp_exampleexample")),
  listSecrets: json("listSecrets", "GET /v1/agents/:agent/secrets", A.SecretListOut, (c) => c.listSecrets("builder"), "secrets"),
  deleteSecret: other("DELETE /v1/agents/:agent/secrets/:name", (c) => c.deleteSecret("builder", "GITHUB_TOKEN")),

  createToken: json("createToken", "POST /v1/tokens", A.CreatedTokenOut, (c) => c.createToken({ name: "ci", scopes: ["runs:read"], ttl: 3600 })),
  listTokens: json("listTokens", "GET /v1/tokens", A.TokenListOut, (c) => c.listTokens(), "tokens"),
  revokeToken: other("DELETE /v1/tokens/:id", (c) => c.revokeToken("tok_4f1c2a9b7e6d5c3b2a10")),
  idToken: json("idToken", "POST /v1/id-token", A.IdTokenOut, (c) => c.idToken("https://vault.example")),

  createSchedule: json("createSchedule", "POST /v1/agents/:agent/schedules", A.ScheduleOut, (c) => c.createSchedule("builder", { cron: "*/5 * * * *", run: { argv: ["true"] } })),
  listSchedules: json("listSchedules", "GET /v1/schedules", A.SchedulePageOut, (c) => c.listSchedules({ agent: "builder", limit: 10 })),
  schedules: json("schedules", "GET /v1/schedules", A.SchedulePageOut, (c) => c.schedules({ agent: "builder" }), "schedules"),
  getSchedule: json("getSchedule", "GET /v1/schedules/:id", A.ScheduleOut, (c) => c.getSchedule(SCHEDULE)),
  updateSchedule: json("updateSchedule", "PATCH /v1/schedules/:id", A.ScheduleOut, (c) => c.updateSchedule(SCHEDULE, { overlap: "queue", timezone: "Europe/Paris" })),
  pauseSchedule: json("pauseSchedule", "PATCH /v1/schedules/:id", A.ScheduleOut, (c) => c.pauseSchedule(SCHEDULE)),
  resumeSchedule: json("resumeSchedule", "PATCH /v1/schedules/:id", A.ScheduleOut, (c) => c.resumeSchedule(SCHEDULE)),
  deleteSchedule: other("DELETE /v1/schedules/:id", (c) => c.deleteSchedule(SCHEDULE)),
  triggerSchedule: json("triggerSchedule", "POST /v1/schedules/:id/trigger", A.RunOut, (c) => c.triggerSchedule(SCHEDULE)),
  previewSchedule: json("previewSchedule", "GET /v1/schedules/:id/preview", A.SchedulePreviewOut, (c) => c.previewSchedule(SCHEDULE, { count: 3, from: "2026-03-08T00:00:00Z" })),
  scheduleEvents: json("scheduleEvents", "GET /v1/schedules/:id/events", A.ScheduleEventListOut, (c) => c.scheduleEvents(SCHEDULE), "events"),
};
// The iterators' rows: the SDK yields the items of page after page.
for (const name of ["agents", "runs", "events", "schedules"] as const) ROWS[name].iterates = true;

/** The methods TetherClient's prototype has that a caller may use (its private helpers left out). */
const PRIVATE = new Set(["constructor", "json", "request", "pages", "backoff", "outlast"]);
const publicMethods = () => Object.getOwnPropertyNames(TetherClient.prototype).filter((n) => !PRIVATE.has(n));

/** The document's operation a request is, by method and path template; and its declared query parameters. */
function operationOf(doc: Doc, method: string, url: URL): { key: string; query: string[] } | null {
  for (const [template, item] of Object.entries(doc.paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    const op = item[method.toLowerCase()];
    if (!op || !re.test(url.pathname)) continue;
    const key = `${method} ${template.replace(/\{([^}]+)\}/g, ":$1")}`;
    return { key, query: (op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name) };
  }
  return null;
}

/** What the fake server answers for an operation: the document's example, or what the operation says it sends. */
function answerFor(doc: Doc, key: string, calls: number): Response {
  const [method, path] = key.split(" ") as [string, string];
  const op = doc.paths[toOpenApi(path)]![method.toLowerCase()]!;
  const [status, kind] = OPERATIONS[key]!.ok;
  if (kind === "empty") return new Response(null, { status });
  if (kind === "bytes") return new Response(new Uint8Array([1, 2, 3]), { status });
  if (kind === "sse") {
    const run = doc.paths["/v1/runs/{run}"]!.get!.responses["200"]!.content!["application/json"]!.examples!.answer!.value;
    return new Response(`id: 7\nevent: state\ndata: ${JSON.stringify(run)}\n\n`, { status, headers: { "content-type": "text/event-stream" } });
  }
  const example = structuredClone(op.responses[String(status)]!.content!["application/json"]!.examples!.answer!.value) as Record<string, unknown>;
  // A list's second page is its last and empty, so an iterator ends.
  if (calls > 1) for (const [k, v] of Object.entries(example)) if (Array.isArray(v)) example[k] = [];
  if (calls > 1 && "next_cursor" in example) example.next_cursor = null;
  return new Response(JSON.stringify(example), { status, headers: { "content-type": "application/json" } });
}

describe("the SDK and the OpenAPI document", () => {
  it("every public method of TetherClient has a row here", () => {
    expect(publicMethods().filter((m) => !(m in ROWS)), "SDK methods without a row in ROWS").toEqual([]);
    expect(Object.keys(ROWS).filter((m) => !publicMethods().includes(m)), "rows for methods the SDK no longer has").toEqual([]);
  });

  it("every operation a client calls has an SDK method (the pages, sockets and the document itself are not a client's)", () => {
    const notClients = new Set(["GET /.well-known/jwks.json"]);
    const covered = new Set(Object.values(ROWS).map((r) => r.op));
    const uncovered = Object.entries(OPERATIONS).filter(([key, op]) => op.tag !== "meta" && op.ok[1] !== "websocket" && !notClients.has(key) && !covered.has(key));
    expect(uncovered.map(([key]) => key), "operations no SDK method calls").toEqual([]);
  });

  it("each method sends an operation of the document, with its declared query, a body the server accepts, and returns the answer's example", async () => {
    const doc = await document();
    const problems: string[] = [];
    for (const [name, row] of Object.entries(ROWS)) {
      const sent: { key: string; url: URL; body: unknown }[] = [];
      const counts = new Map<string, number>();
      const fetch = (async (input: string, init?: RequestInit) => {
        const url = new URL(input);
        const method = init?.method ?? "GET";
        const found = operationOf(doc, method, url);
        if (!found) {
          problems.push(`${name}: ${method} ${url.pathname} is no operation of the document`);
          return new Response(null, { status: 404 });
        }
        for (const q of url.searchParams.keys()) if (!found.query.includes(q)) problems.push(`${name}: query ${q} is not a parameter of ${found.key}`);
        const body = init?.body === undefined ? undefined : JSON.parse(String(init.body));
        sent.push({ key: found.key, url, body });
        counts.set(found.key, (counts.get(found.key) ?? 0) + 1);
        return answerFor(doc, found.key, counts.get(found.key)!);
      }) as typeof globalThis.fetch;
      const client = new TetherClient({ url: "http://plane.test", token: "t", fetch, retry: { tries: 1 } });

      let got = await row.call(client);
      if (got && typeof got === "object" && "iterator" in got) {
        const items: unknown[] = [];
        for await (const item of (got as { iterator: AsyncIterable<unknown> }).iterator) items.push(item);
        got = items;
      }
      if (!sent.length) { problems.push(`${name}: sent nothing`); continue; }
      if (sent[0]!.key !== row.op || sent.slice(1).some((s) => s.key !== (row.then ?? row.op))) problems.push(`${name}: sent ${sent.map((s) => s.key).join(", ")}, its row says ${row.op}`);
      if (row.iterates && sent.length !== 2) problems.push(`${name}: ${sent.length} pages read, expected 2 (the example's, then an empty last one)`);
      if (row.iterates && row.op !== "GET /v1/runs/:run/events" && sent[1]?.url.searchParams.get("cursor") === null) problems.push(`${name}: the second page was asked without the cursor`);
      const bodySchema = OPERATIONS[row.op]!.body;
      for (const s of sent) {
        if (bodySchema && !(s.body === undefined && OPERATIONS[row.op]!.bodyOptional)) {
          const parsed = bodySchema.safeParse(s.body ?? {});
          if (!parsed.success) problems.push(`${name}: the server would refuse its body: ${parsed.error.message}`);
        } else if (!bodySchema && s.body !== undefined && JSON.stringify(s.body) !== "{}") problems.push(`${name}: sends a body ${row.op} does not take`);
      }
      if (!row.schema) continue;
      // The document's answer schema is this schema's JSON Schema, and RESPONSES names it.
      const success = (op: string) => {
        const [method, path] = op.split(" ") as [string, string];
        return doc.paths[toOpenApi(path)]![method.toLowerCase()]!.responses[String(OPERATIONS[op]!.ok[0])]!.content!["application/json"]!;
      };
      const own = success(row.op).schema as { $ref?: string };
      expect(own.$ref ? doc.components.schemas[own.$ref.replace("#/components/schemas/", "")] : own, `${name}: the document's answer schema`).toEqual(asInDocument(doc, row.schema));
      if (RESPONSES[row.op] !== row.schema) problems.push(`${name}: RESPONSES describes ${row.op} with another schema`);
      if (row.then && RESPONSES[row.then] !== row.schema) problems.push(`${name}: RESPONSES describes ${row.then} with another schema`);
      const example = success(sent.at(-1)!.key).examples!.answer!.value as Record<string, unknown>;
      expect(got, `${name}: returns the answer`).toEqual(row.field ? example[row.field] : example);
    }
    expect(problems).toEqual([]);
  });
});
