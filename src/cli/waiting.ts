/**
 * Why a run waits, said on stderr while `tether run`, `tether await` and `tether watch` wait for
 * it: a run that sits `queued` with nothing said looks like a hung CLI. The reason comes from the
 * run itself (awaiting approval; the `waiting` events its agent wrote at submit, for a start rate
 * or a debounce) and from the agent's status (GET /v1/agents/:agent/status, read every few
 * seconds while the run waits): which hosts are connected, their labels, runners and free slots,
 * and what runs under the run's concurrency key. One line per change of reason; stdout is never
 * touched, and the waiting goes on.
 */
import { TetherError, type TetherClient, type WatchEvent } from "../client/sdk.js";
import type { AgentStatus } from "../protocol/agent-status.js";
import type { Run } from "../protocol/run.js";

/** Long enough that a run which starts at once (or a replay of an old run's events) says nothing. */
const SETTLE_MS = 400;
const POLL_MS = 2000;

const labelText = (r: Record<string, string>) => Object.entries(r).map(([k, v]) => `${k}=${v}`).join(", ");

/** The reason the agent's status gives for this run, or undefined when the status shows none. */
export function reasonFromStatus(run: Run, s: AgentStatus): { reason: string; strong: boolean } | undefined {
  if (!s.hosts.length) return { reason: `waiting: no host is connected to agent ${run.agent} (start one with tether-agent, or npm start for the local one)`, strong: true };
  const live = s.hosts.filter((h) => !h.draining);
  if (!live.length) return { reason: `waiting: every host of agent ${run.agent} is draining`, strong: true };
  if (run.runner && !live.some((h) => h.runners?.includes(run.runner!))) return { reason: `waiting for a host with the ${run.runner} runner`, strong: true };
  const need = Object.entries(run.requires ?? {});
  const fit = live.filter((h) => need.every(([k, v]) => h.labels?.[k] === v));
  if (need.length && !fit.length) return { reason: `waiting for a host with ${labelText(run.requires)}`, strong: true };
  const c = run.concurrency;
  if (c) {
    const running = s.running.filter((r) => r.concurrency?.key === c.key).length;
    if (running >= c.limit) return { reason: `waiting for a slot in concurrency key ${JSON.stringify(c.key)}: ${running} of ${c.limit} running`, strong: true };
  }
  if (fit.every((h) => h.busy >= h.slots)) {
    const slots = fit.reduce((n, h) => n + h.slots, 0);
    return { reason: `waiting for a free slot: all ${slots} slot${slots === 1 ? "" : "s"} of ${need.length ? `the hosts with ${labelText(run.requires)}` : `agent ${run.agent}'s hosts`} are busy`, strong: false };
  }
  return undefined;
}

export class WaitReporter {
  private run: Run | undefined;
  /** The latest `waiting` event since the run last became queued, with its ready_at if any. */
  private event: { reason: string; readyAt: number | null } | undefined;
  private status: AgentStatus | undefined;
  private said: string | undefined;
  private settle: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  /** A status read is under way or due. */
  private pollPending = false;
  /** False once the status cannot be read with this token. */
  private polling = true;
  private stopped = false;

  constructor(
    private readonly client: TetherClient,
    private readonly opts: {
      /** The caller prints `waiting` events itself (tether watch): a reason one of them said is not said again. */
      eventsShown?: boolean;
      write?: (line: string) => void;
    } = {},
  ) {}

  /** Every event of the watch stream, in order. */
  onEvent(ev: WatchEvent): void {
    if (ev.type === "state") {
      if (this.run?.status !== ev.run.status && ev.run.status === "queued") this.event = undefined;
      this.run = ev.run;
    } else if (ev.type === "event" && ev.event.type === "waiting" && typeof ev.event.reason === "string") {
      const readyAt = typeof ev.event.ready_at === "string" ? Date.parse(ev.event.ready_at) : null;
      this.event = { reason: ev.event.reason, readyAt };
    } else return;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.settle);
    clearTimeout(this.poll);
  }

  private waiting(): boolean {
    return this.run?.status === "queued" || this.run?.status === "awaiting_approval";
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.update(), SETTLE_MS);
    this.settle.unref?.();
  }

  private update(): void {
    if (this.stopped) return;
    if (!this.waiting()) {
      // Once it runs, a later wait (a retry, say) is a new one, and said anew.
      this.said = undefined;
      this.status = undefined;
      return;
    }
    // The agent's status is read before the first word, when it can be: it says more, and more
    // freshly, than the events of the submit (a concurrency key full then may have room now).
    if (this.run?.status === "queued" && this.polling && this.status === undefined) {
      if (!this.pollPending) void this.refresh();
      return;
    }
    const reason = this.reason();
    const shown = this.opts.eventsShown && reason === this.event?.reason;
    if (reason && reason !== this.said && !shown) (this.opts.write ?? ((line) => void process.stderr.write(`tether: ${line}\n`)))(reason);
    if (reason) this.said = reason;
    if (this.run?.status === "queued" && this.polling && !this.pollPending) void this.refresh();
  }

  private reason(): string | undefined {
    const run = this.run!;
    if (run.status === "awaiting_approval") {
      const why = run.approval?.reason ? ` (${run.approval.reason})` : "";
      return `waiting for approval${why}: tether approve ${run.id}, or tether deny ${run.id}`;
    }
    const fromStatus = this.status && reasonFromStatus(run, this.status);
    if (fromStatus?.strong) return fromStatus.reason;
    const ev = this.event;
    // A concurrency event from the submit is stale once the status has been read: the status says it now.
    const eventLive = ev && !(ev.readyAt !== null && ev.readyAt <= Date.now()) && !(this.status && ev.reason.startsWith("waiting for concurrency key"));
    if (eventLive) return ev.reason;
    return fromStatus?.reason;
  }

  /** Reads the agent's status now and every POLL_MS while the run waits in the queue. */
  private async refresh(): Promise<void> {
    this.pollPending = true;
    try {
      this.status = await this.client.agentStatus(this.run!.agent);
    } catch (err) {
      // A token that may not read the status (a job's, without agents:read) never will: the run's
      // own events still speak. Anything else (the plane restarting, say) is tried at the next read.
      if (err instanceof TetherError && (err.status === 401 || err.status === 403 || err.status === 404)) {
        this.polling = false;
        this.pollPending = false;
        return this.update();
      }
    }
    this.update();
    if (this.stopped || this.run?.status !== "queued") return void (this.pollPending = false);
    this.poll = setTimeout(() => {
      this.pollPending = false;
      this.update();
    }, POLL_MS);
    this.poll.unref?.();
  }
}
