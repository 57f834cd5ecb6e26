/**
 * The typed client every face of Tether uses: the CLI, tests, benchmarks and your code.
 * Works anywhere fetch does.
 */
import type { AgentView, EnrolledHost, HostView } from "../protocol/agent.js";
import type { AgentConfigPatch } from "../protocol/agent-config.js";
import type { Problem } from "../protocol/problem.js";
import type { AgentStatus } from "../protocol/agent-status.js";
import type { AgentPage, RunPage } from "../protocol/run-index.js";
import type { EventPage, RunBatch } from "../protocol/run-events.js";
import type { TokenRecord } from "../protocol/token.js";
import type { Run, JobSpec } from "../protocol/run.js";
import type { Schedule, ScheduleChange, ScheduleEvent, ScheduleInput, SchedulePage, SchedulePreview } from "../protocol/schedule.js";
import { isTerminal } from "../protocol/run.js";
import { fromBase64, toBase64 } from "../protocol/base64.js";
import { readSse } from "./sse.js";

export type { AgentView, EnrolledHost, HostView, Run, JobSpec };
export type { Schedule, ScheduleChange, ScheduleEvent, ScheduleInput, SchedulePage, SchedulePreview };

export type WatchEvent =
  | { id: number; type: "state"; run: Run }
  | { id: number; type: "output"; stream: "stdout" | "stderr"; attempt: number; data: Uint8Array }
  | { id: number; type: "event"; event: { type: string; at: string; [k: string]: unknown } };

export type { Problem, TokenRecord };

export class TetherError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
    /** The answer's Retry-After in seconds (429, 503), or null: said in the message too. */
    readonly retryAfterS: number | null = null,
  ) {
    super(`${problem?.detail ?? `HTTP ${status}`}${retryAfterS !== null ? ` (Retry-After: ${retryAfterS} s)` : ""}`);
  }
}

export interface ClientOptions {
  url: string;
  token: string;
  fetch?: typeof fetch;
}

export class TetherClient {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, "");
    this.doFetch = opts.fetch ?? fetch;
  }

  /**
   * The client a running job has: TETHER_URL and TETHER_TOKEN from its environment. It dials
   * nothing until used; the job's token reaches its own run and the children it submits.
   */
  static fromEnv(env: Record<string, string | undefined> = typeof process === "undefined" ? {} : process.env): TetherClient {
    const url = env.TETHER_URL;
    const token = env.TETHER_TOKEN;
    if (!url || !token) throw new Error("TETHER_URL and TETHER_TOKEN are not set: fromEnv() is for code that runs as a Tether job");
    return new TetherClient({ url, token });
  }

  createAgent(name: string, config?: AgentConfigPatch): Promise<{ agent: AgentView; host_token: string }> {
    return this.json("POST", "/v1/agents", config ? { name, config } : { name });
  }
  configureAgent(name: string, config: AgentConfigPatch): Promise<AgentView> {
    return this.json("PATCH", `/v1/agents/${enc(name)}`, { config });
  }
  getAgent(name: string): Promise<AgentView> {
    return this.json("GET", `/v1/agents/${enc(name)}`);
  }
  async deleteAgent(name: string): Promise<void> {
    await this.request("DELETE", `/v1/agents/${enc(name)}`);
  }
  rotateHostToken(name: string): Promise<{ host_token: string }> {
    return this.json("POST", `/v1/agents/${enc(name)}/host-token`, {});
  }
  async listHosts(agent: string): Promise<EnrolledHost[]> {
    return (await this.json<{ hosts: EnrolledHost[] }>("GET", `/v1/agents/${enc(agent)}/hosts`)).hosts;
  }
  /** The workspace's runs from the index, newest first; pass `next_cursor` back as `cursor` for the next page. */
  listRuns(query: RunListFilter = {}): Promise<RunPage> {
    return this.json("GET", `/v1/runs${queryString(query)}`);
  }
  listAgents(query: { cursor?: string; limit?: number } = {}): Promise<AgentPage> {
    return this.json("GET", `/v1/agents${queryString(query)}`);
  }
  /** Hosts, queue, running and recent runs of one agent, as its object sees them now. */
  agentStatus(agent: string): Promise<AgentStatus> {
    return this.json("GET", `/v1/agents/${enc(agent)}/status`);
  }
  /** A run's events after `after` (an event id; 0 for all). */
  runEvents(runId: string, opts: { after?: number; limit?: number } = {}): Promise<EventPage> {
    return this.json("GET", `/v1/runs/${enc(runId)}/events${queryString(opts)}`);
  }
  /** The run, output after `log_cursor` and events after `event_cursor`, in one answer: for clients that poll. */
  runBatch(runId: string, cursors: { log_cursor?: number; event_cursor?: number } = {}): Promise<RunBatch> {
    return this.json("GET", `/v1/runs/${enc(runId)}/batch${queryString(cursors)}`);
  }
  /** Deletes an ended run with its output (a live one is a 409: cancel it first). */
  async deleteRun(runId: string): Promise<void> {
    await this.request("DELETE", `/v1/runs/${enc(runId)}`);
  }
  /** Mints a workspace token (needs the admin scope); the token is in the answer, once. */
  createToken(body: { name: string; scopes: string[]; ttl?: number; service?: true }): Promise<TokenRecord & { token: string }> {
    return this.json("POST", "/v1/tokens", body);
  }
  async listTokens(): Promise<TokenRecord[]> {
    return (await this.json<{ tokens: TokenRecord[] }>("GET", "/v1/tokens")).tokens;
  }
  /** Revokes a workspace token: refused everywhere within 5 s. */
  async revokeToken(id: string): Promise<void> {
    await this.request("DELETE", `/v1/tokens/${enc(id)}`);
  }
  /** From inside a job (its TETHER_TOKEN): a short-lived token proving who the job is, for `audience`. */
  idToken(audience: string): Promise<{ token: string; expires_in: number; issuer: string; audience: string }> {
    return this.json("POST", "/v1/id-token", { audience });
  }
  /** Revokes one host: its credential stops working and what it holds is lost (and retried). */
  async revokeHost(agent: string, host: string): Promise<void> {
    await this.request("DELETE", `/v1/agents/${enc(agent)}/hosts/${enc(host)}`);
  }

  /** Live input for a run submitted with stdin: {mode: "pipe"}: delivered, queued, or rejected with the reason. */
  input(runId: string, data: Uint8Array | string, opts: { eof?: boolean } = {}): Promise<{ state: "delivered" | "queued"; seq: number } | { state: "rejected"; reason: string }> {
    const body = typeof data === "string" ? { data } : { data_base64: toBase64(data) };
    return this.json("POST", `/v1/runs/${enc(runId)}/input`, { ...body, ...(opts.eof && { eof: true }) });
  }

  /** The runs this run's job submitted with its own token, oldest first. */
  async children(runId: string): Promise<Run[]> {
    return (await this.json<{ runs: Run[] }>("GET", `/v1/runs/${enc(runId)}/children`)).runs;
  }

  /**
   * Submits a run. Each call carries an idempotency key (a fresh one unless given), so a submit
   * whose answer was lost with its connection is sent again safely and makes one run.
   */
  submit(agent: string, job: JobSpec & { idempotency_key?: string; detached?: boolean }): Promise<Run> {
    return this.json("POST", `/v1/agents/${enc(agent)}/runs`, { ...job, idempotency_key: job.idempotency_key ?? crypto.randomUUID() });
  }
  get(runId: string): Promise<Run> {
    return this.json("GET", `/v1/runs/${enc(runId)}`);
  }
  cancel(runId: string): Promise<Run> {
    return this.json("POST", `/v1/runs/${enc(runId)}/cancel`, {});
  }
  /** Sets an agent's secret (write-only): runs that name it in `secrets` get it as the variable of that name. */
  async putSecret(agent: string, name: string, value: string): Promise<void> {
    await this.request("PUT", `/v1/agents/${enc(agent)}/secrets/${enc(name)}`, { value });
  }
  async listSecrets(agent: string): Promise<{ name: string; updated_at: string }[]> {
    return (await this.json<{ secrets: { name: string; updated_at: string }[] }>("GET", `/v1/agents/${enc(agent)}/secrets`)).secrets;
  }
  async deleteSecret(agent: string, name: string): Promise<void> {
    await this.request("DELETE", `/v1/agents/${enc(agent)}/secrets/${enc(name)}`);
  }
  /** Answers a run awaiting approval (token scope runs:approve): approved, it goes to a host that takes approved runs. */
  approve(runId: string, reason?: string): Promise<Run> {
    return this.json("POST", `/v1/runs/${enc(runId)}/approve`, reason === undefined ? {} : { reason });
  }
  /** Denies a run awaiting approval: it ends cancelled and never starts. */
  deny(runId: string, reason?: string): Promise<Run> {
    return this.json("POST", `/v1/runs/${enc(runId)}/deny`, reason === undefined ? {} : { reason });
  }
  async output(runId: string, opts: { stream?: "stdout" | "stderr"; attempt?: number } = {}): Promise<Uint8Array> {
    const q = new URLSearchParams();
    if (opts.stream) q.set("stream", opts.stream);
    if (opts.attempt) q.set("attempt", String(opts.attempt));
    const res = await this.request("GET", `/v1/runs/${enc(runId)}/output${q.size ? `?${q}` : ""}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  createSchedule(agent: string, schedule: ScheduleInput): Promise<Schedule> {
    return this.json("POST", `/v1/agents/${enc(agent)}/schedules`, schedule);
  }
  listSchedules(opts: { agent?: string; cursor?: string; limit?: number } = {}): Promise<SchedulePage> {
    const q = new URLSearchParams();
    if (opts.agent) q.set("agent", opts.agent);
    if (opts.cursor) q.set("cursor", opts.cursor);
    if (opts.limit) q.set("limit", String(opts.limit));
    return this.json("GET", `/v1/schedules${q.size ? `?${q}` : ""}`);
  }
  getSchedule(id: string): Promise<Schedule> {
    return this.json("GET", `/v1/schedules/${enc(id)}`);
  }
  updateSchedule(id: string, change: ScheduleChange): Promise<Schedule> {
    return this.json("PATCH", `/v1/schedules/${enc(id)}`, change);
  }
  async deleteSchedule(id: string): Promise<void> {
    await this.request("DELETE", `/v1/schedules/${enc(id)}`);
  }
  /** Runs the schedule's job now, whatever its overlap policy. */
  triggerSchedule(id: string): Promise<Run> {
    return this.json("POST", `/v1/schedules/${enc(id)}/trigger`);
  }
  /** The next `count` fire times (default 10, at most 1000) after `from` (default now). */
  previewSchedule(id: string, opts: { count?: number; from?: string } = {}): Promise<SchedulePreview> {
    const q = new URLSearchParams();
    if (opts.count) q.set("count", String(opts.count));
    if (opts.from) q.set("from", opts.from);
    return this.json("GET", `/v1/schedules/${enc(id)}/preview${q.size ? `?${q}` : ""}`);
  }
  /** The schedule's latest events (fired, skipped, queued, misfired), oldest first. */
  async scheduleEvents(id: string): Promise<ScheduleEvent[]> {
    return (await this.json<{ events: ScheduleEvent[] }>("GET", `/v1/schedules/${enc(id)}/events`)).events;
  }

  /**
   * Every event of the run from the start (or after `after`), live, ending after the terminal
   * state. A dropped connection is resumed with Last-Event-ID: nothing is repeated or skipped.
   */
  async *watch(runId: string, opts: { after?: number; output?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<WatchEvent> {
    let last = opts.after ?? 0;
    let failures = 0;
    for (;;) {
      let res: Response;
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${this.opts.token}`, accept: "text/event-stream" };
        if (last > 0) headers["last-event-id"] = String(last);
        const q = opts.output === false ? "?output=false" : "";
        res = await this.doFetch(`${this.base}/v1/runs/${enc(runId)}/watch${q}`, { headers, signal: opts.signal });
      } catch (err) {
        if (opts.signal?.aborted || ++failures > 20) throw err;
        await delay(Math.min(5000, 100 * 2 ** failures));
        continue;
      }
      // The run has ended and every event after `last` was heard already.
      if (res.status === 204) return;
      if (!res.ok) throw await toError(res);
      let terminal = false;
      try {
        for await (const frame of readSse(res.body!)) {
          const ev = toEvent(frame.id, frame.event, frame.data);
          if (!ev) continue;
          last = ev.id;
          failures = 0;
          yield ev;
          if (ev.type === "state" && isTerminal(ev.run.status)) terminal = true;
        }
      } catch (err) {
        if (opts.signal?.aborted) throw err;
      }
      if (terminal) return;
      if (++failures > 20) throw new Error("the watch stream keeps closing before the run ends");
      await delay(Math.min(5000, 50 * 2 ** failures));
    }
  }

  /**
   * Waits for the run to end and returns it. When `signal` aborts first, the run is cancelled
   * (a job that stops waiting for its child does not leave it running) and the wait rejects.
   */
  async wait(runId: string, opts: AbortSignal | { signal?: AbortSignal } = {}): Promise<Run> {
    const signal = opts instanceof AbortSignal ? opts : opts.signal;
    let run: Run | null = null;
    try {
      for await (const ev of this.watch(runId, { output: false, ...(signal && { signal }) })) if (ev.type === "state") run = ev.run;
    } catch (err) {
      if (signal?.aborted) await this.cancel(runId).catch(() => undefined);
      throw err;
    }
    return run ?? this.get(runId);
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    return (await res.json()) as T;
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.opts.token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    // An overloaded control plane says 503; reads and cancels are safe to send again, and so is
    // a submit that carries an idempotency key.
    const keyed = (body as { idempotency_key?: string } | undefined)?.idempotency_key !== undefined;
    const safe = method === "GET" || method === "DELETE" || path.endsWith("/cancel") || keyed;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.doFetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      } catch (err) {
        // A kept-alive connection the server closed as it was reused: what is safe to repeat is repeated.
        if (!safe || attempt >= RETRIES_503 || (err as Error).name === "AbortError") throw err;
        await delay(50 * attempt);
        continue;
      }
      if (res.ok) return res;
      // A submit refused for a rate limit or a full queue (429) is sent again after Retry-After
      // only when it carries an idempotency key: were an answer lost, the key still makes one run.
      const wait = res.status === 429 ? retryAfterS(res) : null;
      if (wait !== null && keyed && wait <= RETRY_AFTER_MAX_S && attempt < RETRIES_429) {
        await res.body?.cancel();
        await delay(wait * 1000);
        continue;
      }
      if (res.status !== 503 || !safe || attempt >= RETRIES_503) throw await toError(res);
      await res.body?.cancel();
      await delay(Math.min(2000, 100 * 2 ** attempt));
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

async function toError(res: Response): Promise<TetherError> {
  let problem: Problem | null = null;
  try {
    problem = (await res.json()) as Problem;
  } catch {
    /* not JSON */
  }
  return new TetherError(res.status, problem, retryAfterS(res));
}

/** Retry-After as seconds (it may be a number of seconds or an HTTP date), or null. */
function retryAfterS(res: Response): number | null {
  const v = res.headers.get("retry-after")?.trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

const enc = encodeURIComponent;
const RETRIES_503 = 5;
/** Tries of a keyed submit refused with 429; a Retry-After longer than this is left to the caller. */
const RETRIES_429 = 5;
const RETRY_AFTER_MAX_S = 60;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The filters of `GET /v1/runs`, as the SDK takes them: `status` and `label` as lists or as the wire's text. */
export interface RunListFilter {
  agent?: string;
  status?: string | string[];
  /** `{pr: "123"}` or `"pr=123,team=x"`: every pair must match. */
  label?: string | Record<string, string>;
  schedule?: string;
  parent?: string;
  created_after?: string;
  created_before?: string;
  q?: string;
  cursor?: string;
  limit?: number;
}

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
