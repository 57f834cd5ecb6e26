/**
 * The typed client every face of Tether uses: the CLI, tests, benchmarks and your code.
 * Works anywhere fetch does.
 *
 * Its argument types are the zod schemas the server validates with (input side: what a client
 * may send) and its answer types are `z.infer` of the schemas the OpenAPI document describes the
 * answers with (src/protocol/answers.ts); test/workers/sdk-openapi.test.ts holds each method to
 * the document's operation and answer.
 */
import type { z } from "zod";
import type { AgentConfigPatch } from "../protocol/agent-config.js";
import type * as A from "../protocol/answers.js";
import type { Problem } from "../protocol/problem.js";
import type { RunListQuery } from "../protocol/run-index.js";
import type { BatchQuery, EventsQuery } from "../protocol/run-events.js";
import type { ApprovalBody, CreateRunBody, JobSpec } from "../protocol/run.js";
import type { CreateScheduleBody, ListQuery as ScheduleListQuery, PatchScheduleBody, PreviewQuery } from "../schedules/input.js";
import { LIMITS } from "../protocol/limits.js";
import { isTerminal } from "../protocol/run.js";
import { fromBase64, toBase64 } from "../protocol/base64.js";
import { readSse } from "./sse.js";
import type { Answer, Fetch } from "./transport.js";

/** The answers, each `z.infer` of the schema the OpenAPI document gives for it. */
export type Run = z.infer<typeof A.RunOut>;
export type RunSummary = z.infer<typeof A.RunSummaryOut>;
export type RunPage = z.infer<typeof A.RunPageOut>;
export type AgentSummary = z.infer<typeof A.AgentSummaryOut>;
export type AgentPage = z.infer<typeof A.AgentPageOut>;
export type AgentView = z.infer<typeof A.AgentOut>;
export type HostView = z.infer<typeof A.HostViewOut>;
export type EnrolledHost = z.infer<typeof A.EnrolledHostOut>;
export type AgentStatus = z.infer<typeof A.AgentStatusOut>;
export type EventPage = z.infer<typeof A.EventPageOut>;
export type RunEvent = z.infer<typeof A.RunEventOut>;
export type RunBatch = z.infer<typeof A.RunBatchOut>;
export type SubmitResult = z.infer<typeof A.SubmitResultOut>;
export type InputAnswer = z.infer<typeof A.InputOut>;
export type InputWaiting = z.infer<typeof A.InputWaitingOut>;
export type SecretView = z.infer<typeof A.SecretViewOut>;
export type TokenRecord = z.infer<typeof A.TokenRecordOut>;
export type CreatedToken = z.infer<typeof A.CreatedTokenOut>;
export type IdToken = z.infer<typeof A.IdTokenOut>;
export type Schedule = z.infer<typeof A.ScheduleOut>;
export type SchedulePage = z.infer<typeof A.SchedulePageOut>;
export type SchedulePreview = z.infer<typeof A.SchedulePreviewOut>;
export type ScheduleEvent = z.infer<typeof A.ScheduleEventOut>;

/** What may be sent, each `z.input` of the schema the server validates the body or query with. */
export type SubmitBody = z.input<typeof CreateRunBody>;
export type ScheduleInput = z.input<typeof CreateScheduleBody>;
export type ScheduleChange = z.input<typeof PatchScheduleBody>;
export type AgentConfigChange = z.input<typeof AgentConfigPatch>;
export type { JobSpec, Problem };

export type WatchEvent =
  | { id: number; type: "state"; run: Run }
  | { id: number; type: "output"; stream: "stdout" | "stderr"; attempt: number; data: Uint8Array }
  | { id: number; type: "event"; event: { type: string; at: string; [k: string]: unknown } };

export class TetherError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
    /** The answer's Retry-After in seconds (429, 503), or null: said in the message too. */
    readonly retryAfterS: number | null = null,
    /** What the answer said where it was not a problem (a redirect's target), for the message. */
    private readonly said: string | null = null,
  ) {
    super(`${problem?.detail ?? said ?? `HTTP ${status}`}${retryAfterS !== null ? ` (Retry-After: ${retryAfterS} s)` : ""}`);
    this.name = "TetherError";
  }
  /** The problem's type (a URI or a short name such as "not-found"); "about:blank" when the answer was not problem+json. */
  get type(): string {
    return this.problem?.type ?? "about:blank";
  }
  /** What went wrong and what to do, as the server said it (or "HTTP <status>"). */
  get detail(): string {
    return this.problem?.detail ?? this.said ?? `HTTP ${this.status}`;
  }
  get title(): string {
    return this.problem?.title ?? "";
  }
}

export interface ClientOptions {
  url: string;
  token: string;
  /** The global fetch unless given; in Node, `nodeFetch` (client/node-fetch.ts) costs less per call. */
  fetch?: Fetch;
  retry?: RetryOptions;
}

/**
 * How requests safe to repeat (GET, DELETE, cancel, a submit with an idempotency key) are sent
 * again after a 429, a 503 or a network error: up to `tries` sends in all, waiting Retry-After
 * when the answer gives one, else "full jitter": random(0, min(capMs, baseMs * 2^retry)).
 */
export interface RetryOptions {
  /** Sends in all, the first included (default 5; 1 never retries). */
  tries?: number;
  baseMs?: number;
  capMs?: number;
  /** A Retry-After longer than this (seconds) is left to the caller: the error says it. Default 60. */
  maxRetryAfterS?: number;
  /** In [0, 1): Math.random unless given (tests pass their own). */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The client for `url` with `token`. */
export function createClient(opts: ClientOptions): TetherClient {
  return new TetherClient(opts);
}

/**
 * The client a running job has: TETHER_URL and TETHER_TOKEN from its environment. It dials
 * nothing until used; the job's token reaches its own run and the children it submits.
 */
export function fromEnv(env: Record<string, string | undefined> = processEnv()): TetherClient {
  const url = env.TETHER_URL;
  const token = env.TETHER_TOKEN;
  if (!url || !token) throw new Error("TETHER_URL and TETHER_TOKEN are not set: fromEnv() is for code that runs as a Tether job");
  return new TetherClient({ url, token });
}

export class TetherClient {
  private readonly base: string;
  private readonly doFetch: Fetch;
  private readonly retry: Required<RetryOptions>;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, "");
    this.doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
    const r = opts.retry ?? {};
    this.retry = {
      tries: Math.max(1, r.tries ?? 5),
      baseMs: r.baseMs ?? 100,
      capMs: r.capMs ?? 5000,
      maxRetryAfterS: r.maxRetryAfterS ?? 60,
      random: r.random ?? Math.random,
      sleep: r.sleep ?? delay,
    };
  }

  /** The same as the module's `fromEnv()`. */
  static fromEnv(env?: Record<string, string | undefined>): TetherClient {
    return fromEnv(env);
  }

  // ---- agents

  createAgent(name: string, config?: AgentConfigChange): Promise<z.infer<typeof A.CreatedAgentOut>> {
    return this.json("POST", "/v1/agents", config ? { name, config } : { name });
  }
  configureAgent(name: string, config: AgentConfigChange): Promise<AgentView> {
    return this.json("PATCH", `/v1/agents/${enc(name)}`, { config });
  }
  getAgent(name: string): Promise<AgentView> {
    return this.json("GET", `/v1/agents/${enc(name)}`);
  }
  async deleteAgent(name: string): Promise<void> {
    await this.request("DELETE", `/v1/agents/${enc(name)}`);
  }
  rotateHostToken(name: string): Promise<z.infer<typeof A.HostTokenOut>> {
    return this.json("POST", `/v1/agents/${enc(name)}/host-token`, {});
  }
  async listHosts(agent: string): Promise<EnrolledHost[]> {
    return (await this.json<z.infer<typeof A.HostListOut>>("GET", `/v1/agents/${enc(agent)}/hosts`)).hosts;
  }
  /** Revokes one host: its credential stops working and what it holds is lost (and retried). */
  async revokeHost(agent: string, host: string): Promise<void> {
    await this.request("DELETE", `/v1/agents/${enc(agent)}/hosts/${enc(host)}`);
  }
  /** One page of the workspace's agents, by name; pass `next_cursor` back as `cursor`. */
  listAgents(query: AgentListFilter = {}): Promise<AgentPage> {
    return this.json("GET", `/v1/agents${queryString(query)}`);
  }
  /** Every agent of the workspace, page after page as the loop asks for them. */
  agents(query: Omit<AgentListFilter, "cursor"> = {}): AsyncGenerator<AgentSummary> {
    return this.pages((cursor) => this.listAgents({ ...query, ...(cursor && { cursor }) }), (p) => p.agents);
  }
  /** Hosts, queue, running and recent runs of one agent, as its object sees them now. */
  agentStatus(agent: string): Promise<AgentStatus> {
    return this.json("GET", `/v1/agents/${enc(agent)}/status`);
  }
  /** The same as agentStatus. */
  status(agent: string): Promise<AgentStatus> {
    return this.agentStatus(agent);
  }

  // ---- runs

  /**
   * Submits a run. Each call carries an idempotency key (a fresh one unless given), so a submit
   * whose answer was lost with its connection is sent again safely and makes one run.
   */
  submit(agent: string, job: SubmitBody): Promise<Run> {
    return this.json("POST", `/v1/agents/${enc(agent)}/runs`, keyed(job));
  }
  /**
   * Submits up to 100 runs in one call, decided in the order given. Each comes back on its own,
   * in order: `{created, run}`, or `{problem}` where a lone submit would have been refused (a
   * full queue, a dedup key's live run), which leaves the others made. Every submit carries an
   * idempotency key (a fresh one unless given), so the call is sent again safely as a whole.
   * The call is one request, within its 2 MiB: runs that carry large stdin or inputs go in
   * fewer a call (as `tether submit` sends them), or the call is refused whole with a 413.
   */
  async submitMany(agent: string, jobs: SubmitBody[]): Promise<SubmitResult[]> {
    return (await this.json<{ results: SubmitResult[] }>("POST", `/v1/agents/${enc(agent)}/runs/batch`, { runs: jobs.map(keyed) })).results;
  }
  /**
   * Submits a run and returns it once it has ended: the submit's answer waits for the end (one
   * call where submit and wait are two), and a run still going after it is waited for. To stop
   * waiting part way, and cancel the run then, use submit and wait with a signal.
   */
  async run(agent: string, job: SubmitBody): Promise<Run> {
    // One key for every send: a submit sent again through an outage is the same run.
    const body = keyed(job);
    const run = await this.outlast(() => this.json<Run>("POST", `/v1/agents/${enc(agent)}/runs?wait_s=${LIMITS.waitDefaultS}`, body));
    return isTerminal(run.status) ? run : this.wait(run.id);
  }
  get(runId: string): Promise<Run> {
    return this.json("GET", `/v1/runs/${enc(runId)}`);
  }
  /** One page of the workspace's runs from the index, newest first; pass `next_cursor` back as `cursor`. */
  listRuns(query: RunListFilter = {}): Promise<RunPage> {
    return this.json("GET", `/v1/runs${queryString(query)}`);
  }
  /** Every run the filter matches, newest first, page after page as the loop asks for them. */
  runs(query: Omit<RunListFilter, "cursor"> = {}): AsyncGenerator<RunSummary> {
    return this.pages((cursor) => this.listRuns({ ...query, ...(cursor && { cursor }) }), (p) => p.runs);
  }
  cancel(runId: string): Promise<Run> {
    return this.json("POST", `/v1/runs/${enc(runId)}/cancel`, {});
  }
  /** Deletes an ended run with its output (a live one is a 409: cancel it first). */
  async deleteRun(runId: string): Promise<void> {
    await this.request("DELETE", `/v1/runs/${enc(runId)}`);
  }
  /** Answers a run awaiting approval (token scope runs:approve): approved, it goes to a host that takes approved runs. */
  approve(runId: string, reason?: string): Promise<Run> {
    return this.json("POST", `/v1/runs/${enc(runId)}/approve`, reason === undefined ? {} : ({ reason } satisfies z.input<typeof ApprovalBody>));
  }
  /** Denies a run awaiting approval: it ends cancelled and never starts. */
  deny(runId: string, reason?: string): Promise<Run> {
    return this.json("POST", `/v1/runs/${enc(runId)}/deny`, reason === undefined ? {} : ({ reason } satisfies z.input<typeof ApprovalBody>));
  }
  /** The exact bytes the run's job wrote (stdout unless asked; the current attempt unless asked). */
  async output(runId: string, opts: { stream?: "stdout" | "stderr"; attempt?: number } = {}): Promise<Uint8Array> {
    const res = await this.request("GET", `/v1/runs/${enc(runId)}/output${queryString(opts)}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  /** Live input for a run submitted with stdin: {mode: "pipe"}: delivered, queued, or rejected with the reason. */
  input(runId: string, data: Uint8Array | string, opts: { eof?: boolean } = {}): Promise<InputAnswer> {
    const body = typeof data === "string" ? { data } : { data_base64: toBase64(data) };
    return this.json("POST", `/v1/runs/${enc(runId)}/input`, { ...body, ...(opts.eof && { eof: true }) });
  }
  /** The live input not yet delivered to the run's job. */
  async inputWaiting(runId: string): Promise<InputWaiting["waiting"]> {
    return (await this.json<InputWaiting>("GET", `/v1/runs/${enc(runId)}/input`)).waiting;
  }
  /** The runs this run's job submitted with its own token, oldest first. */
  async children(runId: string): Promise<Run[]> {
    return (await this.json<z.infer<typeof A.RunListOut>>("GET", `/v1/runs/${enc(runId)}/children`)).runs;
  }
  /** A page of the run's events after `after` (an event id; 0 for all); pass `next_after` back as `after`. */
  runEvents(runId: string, opts: z.input<typeof EventsQuery> = {}): Promise<EventPage> {
    return this.json("GET", `/v1/runs/${enc(runId)}/events${queryString(opts)}`);
  }
  /** Every event of the run so far (after `after`), page after page; a live run's later events are watch()'s. */
  async *events(runId: string, opts: { after?: number } = {}): AsyncGenerator<RunEvent> {
    let after = opts.after ?? 0;
    for (;;) {
      const page = await this.runEvents(runId, { after, limit: 500 });
      yield* page.events;
      if (!page.events.length || page.next_after <= after) return;
      after = page.next_after;
    }
  }
  /** The run, output after `log_cursor` and events after `event_cursor`, in one answer: for clients that poll. */
  runBatch(runId: string, cursors: z.input<typeof BatchQuery> = {}): Promise<RunBatch> {
    return this.json("GET", `/v1/runs/${enc(runId)}/batch${queryString(cursors)}`);
  }

  // ---- secrets

  /** Sets an agent's secret (write-only): runs that name it in `secrets` get it as the variable of that name. */
  async putSecret(agent: string, name: string, value: string): Promise<void> {
    await this.request("PUT", `/v1/agents/${enc(agent)}/secrets/${enc(name)}`, { value });
  }
  async listSecrets(agent: string): Promise<SecretView[]> {
    return (await this.json<z.infer<typeof A.SecretListOut>>("GET", `/v1/agents/${enc(agent)}/secrets`)).secrets;
  }
  async deleteSecret(agent: string, name: string): Promise<void> {
    await this.request("DELETE", `/v1/agents/${enc(agent)}/secrets/${enc(name)}`);
  }

  // ---- tokens

  /**
   * Mints a workspace token (needs the admin scope); the token is in the answer, once. The body is
   * the server's CreateTokenBody but for `scopes`, taken as text (the CLI passes what it was
   * given; the server refuses a scope it does not know with a 400 that names it).
   */
  createToken(body: { name: string; scopes: string[]; ttl?: number; service?: true }): Promise<CreatedToken> {
    return this.json("POST", "/v1/tokens", body);
  }
  async listTokens(): Promise<TokenRecord[]> {
    return (await this.json<z.infer<typeof A.TokenListOut>>("GET", "/v1/tokens")).tokens;
  }
  /** Revokes a workspace token: refused everywhere within 5 s. */
  async revokeToken(id: string): Promise<void> {
    await this.request("DELETE", `/v1/tokens/${enc(id)}`);
  }
  /** From inside a job (its TETHER_TOKEN): a short-lived token proving who the job is, for `audience`. */
  idToken(audience: string): Promise<IdToken> {
    return this.json("POST", "/v1/id-token", { audience });
  }

  // ---- schedules

  createSchedule(agent: string, schedule: ScheduleInput): Promise<Schedule> {
    return this.json("POST", `/v1/agents/${enc(agent)}/schedules`, schedule);
  }
  /** One page of schedules (of one agent, or all); pass `next_cursor` back as `cursor`. */
  listSchedules(opts: z.input<typeof ScheduleListQuery> = {}): Promise<SchedulePage> {
    return this.json("GET", `/v1/schedules${queryString(opts)}`);
  }
  /** Every schedule (of one agent, or all), page after page as the loop asks for them. */
  schedules(opts: Omit<z.input<typeof ScheduleListQuery>, "cursor"> = {}): AsyncGenerator<Schedule> {
    return this.pages((cursor) => this.listSchedules({ ...opts, ...(cursor && { cursor }) }), (p) => p.schedules);
  }
  getSchedule(id: string): Promise<Schedule> {
    return this.json("GET", `/v1/schedules/${enc(id)}`);
  }
  updateSchedule(id: string, change: ScheduleChange): Promise<Schedule> {
    return this.json("PATCH", `/v1/schedules/${enc(id)}`, change);
  }
  /** Stops the schedule firing (its next_run_at becomes null) until resumed. */
  pauseSchedule(id: string): Promise<Schedule> {
    return this.updateSchedule(id, { enabled: false });
  }
  resumeSchedule(id: string): Promise<Schedule> {
    return this.updateSchedule(id, { enabled: true });
  }
  async deleteSchedule(id: string): Promise<void> {
    await this.request("DELETE", `/v1/schedules/${enc(id)}`);
  }
  /** Runs the schedule's job now, whatever its overlap policy. */
  triggerSchedule(id: string): Promise<Run> {
    return this.json("POST", `/v1/schedules/${enc(id)}/trigger`);
  }
  /** The next `count` fire times (default 10, at most 1000) after `from` (default now). */
  previewSchedule(id: string, opts: z.input<typeof PreviewQuery> = {}): Promise<SchedulePreview> {
    return this.json("GET", `/v1/schedules/${enc(id)}/preview${queryString(opts)}`);
  }
  /** The schedule's latest events (fired, skipped, queued, misfired), oldest first. */
  async scheduleEvents(id: string): Promise<ScheduleEvent[]> {
    return (await this.json<z.infer<typeof A.ScheduleEventListOut>>("GET", `/v1/schedules/${enc(id)}/events`)).events;
  }

  // ---- live

  /**
   * Every event of the run from the start (or after `after`), live, ending after the terminal
   * state. A dropped connection is resumed with Last-Event-ID: nothing is repeated or skipped.
   * A run that has ended with nothing after `after` ends the loop at once (the server says 204).
   */
  async *watch(runId: string, opts: { after?: number; output?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<WatchEvent> {
    let last = opts.after ?? 0;
    // Reconnects in a row without an event between them; any event heard starts the count again.
    let failures = 0;
    for (;;) {
      let res: Answer;
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${this.opts.token}`, accept: "text/event-stream" };
        if (last > 0) headers["last-event-id"] = String(last);
        const q = opts.output === false ? "?output=false" : "";
        res = await this.doFetch(`${this.base}/v1/runs/${enc(runId)}/watch${q}`, { headers, ...(opts.signal && { signal: opts.signal }) });
      } catch (err) {
        if (opts.signal?.aborted || ++failures > WATCH_RECONNECTS) throw err;
        await this.retry.sleep(this.backoff(failures - 1));
        continue;
      }
      // The run has ended and every event after `last` was heard already.
      if (res.status === 204) return;
      if (!res.ok) {
        // Past the run's live watchers (429) or an overloaded plane (503): wait as told, then again.
        const wait = res.status === 429 || res.status === 503 ? retryAfterS(res) : null;
        if ((res.status === 429 || res.status === 503) && ++failures <= WATCH_RECONNECTS && (wait === null || wait <= this.retry.maxRetryAfterS)) {
          await res.body?.cancel();
          await this.retry.sleep(wait !== null ? wait * 1000 : this.backoff(failures - 1));
          continue;
        }
        throw await toError(res);
      }
      let terminal = false;
      try {
        for await (const frame of readSse(res.body!)) {
          const ev = toEvent(frame.id, frame.event, frame.data);
          if (!ev) continue;
          // A resumed stream starts after Last-Event-ID; an id not past it would be a repeat.
          if (ev.id <= last) continue;
          last = ev.id;
          failures = 0;
          yield ev;
          if (ev.type === "state" && isTerminal(ev.run.status)) terminal = true;
        }
      } catch (err) {
        if (opts.signal?.aborted) throw err;
      } finally {
        // The loop left early (break, return, an error): let the connection go.
        await res.body?.cancel().catch(() => undefined);
      }
      if (terminal) return;
      if (++failures > WATCH_RECONNECTS) throw new Error("the watch stream keeps closing before the run ends");
      await this.retry.sleep(this.backoff(failures - 1));
    }
  }

  /**
   * Waits for the run to end and returns it. When `signal` aborts first, the run is cancelled
   * (a job that stops waiting for its child does not leave it running) and the wait rejects.
   */
  async wait(runId: string, opts: AbortSignal | { signal?: AbortSignal } = {}): Promise<Run> {
    const signal = opts instanceof AbortSignal ? opts : opts.signal;
    try {
      // Each ask is held by the edge until the run ends or a while has passed: ask until it has ended.
      for (;;) {
        const res = await this.outlast(() => this.request("GET", `/v1/runs/${enc(runId)}/wait`, undefined, signal), signal);
        const run = (await res.json()) as Run;
        if (isTerminal(run.status)) return run;
      }
    } catch (err) {
      if (signal?.aborted) await this.cancel(runId).catch(() => undefined);
      throw err;
    }
  }

  // ---- the wire

  /**
   * Asks again after failures that outlast the request's own retries (a network error, or load
   * not asking for a wait longer than the caller allows), up to WATCH_RECONNECTS asks in a row:
   * a wait or a run outlives a restart of the control plane as a watch does.
   */
  private async outlast<T>(ask: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let failures = 0; ; ) {
      signal?.throwIfAborted();
      try {
        return await ask();
      } catch (err) {
        const passing = !(err instanceof TetherError) || ((err.status === 429 || err.status === 503) && (err.retryAfterS ?? 0) <= this.retry.maxRetryAfterS);
        if (signal?.aborted || !passing || ++failures > WATCH_RECONNECTS) throw err;
        await this.retry.sleep(this.backoff(failures - 1));
      }
    }
  }

  /** Items of page after page, asking for the next only when the loop wants more. */
  private async *pages<P extends { next_cursor: string | null }, T>(page: (cursor: string | null) => Promise<P>, items: (p: P) => T[]): AsyncGenerator<T> {
    let cursor: string | null = null;
    for (;;) {
      const p = await page(cursor);
      yield* items(p);
      if (!p.next_cursor || p.next_cursor === cursor) return;
      cursor = p.next_cursor;
    }
  }

  /** Full jitter: a random wait in [0, min(cap, base * 2^retry)), so clients told to wait do not come back together. */
  private backoff(retry: number): number {
    const { baseMs, capMs, random } = this.retry;
    return Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(retry, 30)));
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    return (await res.json()) as T;
  }

  private async request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.opts.token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    // Reads, deletes and cancels are safe to send again, and so is a submit that carries an
    // idempotency key: were an answer lost, the key still makes one run.
    const safe = method === "GET" || method === "DELETE" || path.endsWith("/cancel") || isKeyed(body);
    const { tries, maxRetryAfterS, sleep } = this.retry;
    for (let attempt = 1; ; attempt++) {
      let res: Answer;
      try {
        res = await this.doFetch(`${this.base}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }), ...(signal && { signal }) });
      } catch (err) {
        // A kept-alive connection the server closed as it was reused, a network that dropped:
        // what is safe to repeat is repeated.
        if (!safe || attempt >= tries || (err as Error).name === "AbortError") throw err;
        await sleep(this.backoff(attempt - 1));
        continue;
      }
      if (res.ok) return res;
      // Refused for a rate limit or a full queue (429) or an overloaded plane (503): sent again
      // after Retry-After when the answer says one, else after a jittered backoff.
      if ((res.status !== 429 && res.status !== 503) || !safe || attempt >= tries) throw await toError(res);
      const wait = retryAfterS(res);
      if (wait !== null && wait > maxRetryAfterS) throw await toError(res);
      await res.body?.cancel();
      await sleep(wait !== null ? wait * 1000 : this.backoff(attempt - 1));
    }
  }
}

function toEvent(id: string | null, event: string, data: string): WatchEvent | null {
  const n = Number(id);
  if (!Number.isInteger(n)) return null;
  const body = JSON.parse(data);
  if (event === "state") return { id: n, type: "state", run: body as Run };
  if (event === "output") {
    const data = typeof body.text === "string" ? new TextEncoder().encode(body.text) : (fromBase64(body.data) ?? new Uint8Array());
    return { id: n, type: "output", stream: body.stream, attempt: body.attempt, data };
  }
  if (event === "event") return { id: n, type: "event", event: body };
  return null;
}

async function toError(res: Answer): Promise<TetherError> {
  let problem: Problem | null = null;
  try {
    problem = (await res.json()) as Problem;
  } catch {
    /* not JSON */
  }
  return new TetherError(res.status, problem, retryAfterS(res), redirectNote(res));
}

/**
 * A redirect is not followed: the token would go with the call to wherever it points (the
 * Node transport never follows one; fetch follows it but drops the token on a change of
 * scheme or host, so the call fails as unauthorized). Saying where it points names the fix.
 */
function redirectNote(res: Answer): string | null {
  const to = res.headers.get("location");
  if (res.status < 300 || res.status > 399 || !to) return null;
  return `the server redirects this call to ${to}: give the client that address (the CLI reads it from TETHER_URL)`;
}

/** Retry-After as seconds (it may be a number of seconds or an HTTP date), or null. */
function retryAfterS(res: Answer): number | null {
  const v = res.headers.get("retry-after")?.trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

const enc = encodeURIComponent;

/** A submit whose every run carries an idempotency key, alone or in a batch. */
function isKeyed(body: unknown): boolean {
  const b = body as { idempotency_key?: string; runs?: { idempotency_key?: string }[] } | undefined;
  return b?.idempotency_key !== undefined || (Array.isArray(b?.runs) && b.runs.every((r) => r.idempotency_key !== undefined));
}

/** A submit with an idempotency key (a fresh one unless given): sent again, it still makes one run. */
const keyed = (job: SubmitBody): SubmitBody => ({ ...job, idempotency_key: job.idempotency_key ?? crypto.randomUUID() });
/** Node's environment, or nothing where there is no process (a browser, a Worker). */
const processEnv = (): Record<string, string | undefined> => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
/** Reconnects of a watch in a row with no event between them, or failed asks of a wait, before it gives up. */
const WATCH_RECONNECTS = 20;
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The filters of `GET /v1/runs` (its query schema's input), as the SDK takes them: `status` and
 * `label` also as a list and as pairs, which are sent as the wire's text.
 */
export type RunListFilter = Omit<z.input<typeof RunListQuery>, "status" | "label" | "limit"> & {
  /** One status, a list, or the wire's comma-separated text. */
  status?: string | string[];
  /** `{pr: "123"}` or `"pr=123,team=x"`: every pair must match. */
  label?: string | Record<string, string>;
  limit?: number;
};
export type AgentListFilter = { cursor?: string; limit?: number };

function queryString(q: object): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) p.set(k, v.join(","));
    else if (typeof v === "object") p.set(k, Object.entries(v as Record<string, string>).map(([a, b]) => `${a}=${b}`).join(","));
    else p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}
