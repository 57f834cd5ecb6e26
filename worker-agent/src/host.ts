/**
 * The host's control connection to its agent: say hello, offer free slots as credits, take
 * assignments as they are pushed, reconnect with backoff when the connection drops.
 */
import { hostname } from "node:os";
import WebSocket from "ws";
import { EdgeToHost, type Assign, type HostMessage } from "../../src/protocol/host.js";
import { Attempt } from "./attempt.js";
import { Backoff } from "./backoff.js";
import type { Logger } from "./log.js";

export interface HostOptions {
  url: string;
  token: string;
  hostId: string;
  slots: number;
  graceMs: number;
  version: string;
  log: Logger;
}

const PING_MS = 5_000;

export class Host {
  private ws: WebSocket | null = null;
  private readonly attempts = new Map<string, Attempt>();
  private readonly backoff = new Backoff(1_000, 60_000);
  private stopped = false;
  private pinger: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private readonly agent: string;
  private onConnected: (() => void) | null = null;

  constructor(private readonly opts: HostOptions) {
    this.agent = agentOf(opts.token);
  }

  /** Resolves once the edge has welcomed this host the first time. */
  start(): Promise<void> {
    const connected = new Promise<void>((resolve) => (this.onConnected = resolve));
    this.connect();
    return connected;
  }

  /** Running jobs keep running; nothing new is taken. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.pinger) clearInterval(this.pinger);
    this.ws?.close(1000, "host stopping");
  }

  cancelAll(reason: string): void {
    for (const a of this.attempts.values()) a.cancel("cancelled", reason);
  }

  get running(): number {
    let n = 0;
    for (const a of this.attempts.values()) if (a.running) n++;
    return n;
  }

  private connect(): void {
    const url = new URL(`/v1/agents/${this.agent}/connect`, this.opts.url.replace(/^http/, "ws"));
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.opts.token}` }, perMessageDeflate: false });
    this.ws = ws;
    ws.on("open", () => {
      this.backoff.reset();
      const running = [...this.attempts.values()].filter((a) => a.running).map((a) => ({ run_id: a.runId, attempt: a.attempt }));
      this.send({ type: "hello", host_id: this.opts.hostId, hostname: hostname(), version: this.opts.version, slots: this.opts.slots, running });
      this.pinger = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), PING_MS);
    });
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      if (text === "pong") return;
      let parsed;
      try {
        parsed = EdgeToHost.safeParse(JSON.parse(text));
      } catch {
        return;
      }
      if (!parsed.success) return this.opts.log(`ignored a message: ${parsed.error.issues[0]?.message}`);
      const msg = parsed.data;
      if (msg.type === "welcome") {
        this.opts.log(`connected to agent ${msg.agent} as ${msg.host_id} with ${this.opts.slots} slot(s)`);
        this.onConnected?.();
        this.onConnected = null;
      } else {
        this.take(msg);
      }
    });
    ws.on("error", (err) => this.opts.log(`connection: ${err.message}`));
    ws.on("close", (code, reason) => {
      if (this.pinger) clearInterval(this.pinger);
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      const delay = this.backoff.next();
      this.opts.log(`disconnected (${code} ${reason.toString() || "no reason"}); reconnecting in ${delay} ms`);
      this.retry = setTimeout(() => this.connect(), delay);
    });
  }

  private take(msg: Assign): void {
    if (this.stopped || this.running >= this.opts.slots || this.attempts.has(msg.run_id)) {
      return this.send({ type: "reject", run_id: msg.run_id, attempt: msg.attempt, reason: "no free slot" });
    }
    const key = msg.run_id;
    const attempt = new Attempt(msg, {
      baseUrl: this.opts.url,
      hostId: this.opts.hostId,
      graceMs: this.opts.graceMs,
      log: this.opts.log,
      onExit: () => this.send({ type: "credit", n: 1 }),
      onDone: () => {
        if (this.attempts.get(key) === attempt) this.attempts.delete(key);
      },
    });
    this.attempts.set(key, attempt);
    attempt.start();
  }

  private send(msg: HostMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }
}

/** The agent this host serves is the host token's claim. */
function agentOf(token: string): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { kind?: string; agent?: string };
    if (payload.kind === "host" && payload.agent) return payload.agent;
  } catch {
    /* fall through */
  }
  throw new Error("the token is not a host token (create an agent to get one: tether agents create NAME)");
}
