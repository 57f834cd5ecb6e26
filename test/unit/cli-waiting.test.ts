/** The CLI's waiting lines, from a run's events and its agent's status, without a stack: which reason, and when it is said. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TetherError, type TetherClient, type WatchEvent } from "../../src/client/sdk.js";
import type { AgentStatus, HostStatus } from "../../src/protocol/agent-status.js";
import type { Run } from "../../src/protocol/run.js";
import { reasonFromStatus, WaitReporter } from "../../src/cli/waiting.js";

const run = (over: Partial<Run> = {}): Run => ({ id: "run_1", agent: "a", status: "queued", requires: {}, concurrency: null, runner: null, approval: null, ...over }) as Run;
const host = (over: Partial<HostStatus> = {}): HostStatus => ({ host_id: "h", hostname: "h", version: "1", slots: 2, busy: 0, draining: false, connected_at: "", last_heard_at: "", ...over });
const status = (hosts: HostStatus[], running: Partial<Run>[] = []): AgentStatus =>
  ({ agent: "a", at: "", hosts, queue: { depth: 1, oldest_age_ms: 0, waiting: [] }, running, recent: [], ended: { last_hour: {}, last_day: {} }, p50_wait_ms: null, p50_run_ms: null }) as unknown as AgentStatus;

describe("reasonFromStatus", () => {
  it("says the first thing that holds the run back", () => {
    expect(reasonFromStatus(run(), status([]))?.reason).toMatch(/^waiting: no host is connected to agent a/);
    expect(reasonFromStatus(run(), status([host({ draining: true })]))?.reason).toBe("waiting: every host of agent a is draining");
    expect(reasonFromStatus(run({ runner: "claude" }), status([host()]))?.reason).toBe("waiting for a host with the claude runner");
    expect(reasonFromStatus(run({ requires: { gpu: "true" } }), status([host({ labels: { gpu: "false" } })]))?.reason).toBe("waiting for a host with gpu=true");
    const keyed = run({ concurrency: { key: "k", limit: 1, strategy: "queue" } });
    expect(reasonFromStatus(keyed, status([host()], [{ concurrency: { key: "k", limit: 1, strategy: "queue" } }]))?.reason).toBe('waiting for a slot in concurrency key "k": 1 of 1 running');
    expect(reasonFromStatus(keyed, status([host()], [{ concurrency: { key: "other", limit: 1, strategy: "queue" } }]))).toBeUndefined();
    expect(reasonFromStatus(run(), status([host({ busy: 2 })]))).toEqual({ reason: "waiting for a free slot: all 2 slots of agent a's hosts are busy", strong: false });
    expect(reasonFromStatus(run({ requires: { gpu: "true" } }), status([host({ labels: { gpu: "true" } })]))).toBeUndefined();
  });
});

describe("WaitReporter", () => {
  let lines: string[];
  let agentStatus: ReturnType<typeof vi.fn>;
  let reporter: WaitReporter;
  const state = (r: Partial<Run>, id = 1): WatchEvent => ({ id, type: "state", run: run(r) });
  const waiting = (reason: string, extra: Record<string, unknown> = {}): WatchEvent => ({ id: 2, type: "event", event: { type: "waiting", at: "", reason, ...extra } });

  beforeEach(() => {
    vi.useFakeTimers();
    lines = [];
    agentStatus = vi.fn(async () => status([]));
    reporter = new WaitReporter({ agentStatus } as unknown as TetherClient, { write: (l) => lines.push(l) });
  });
  afterEach(() => {
    reporter.stop();
    vi.useRealTimers();
  });

  it("says nothing of a run that starts at once, nor of an old run's replayed wait", async () => {
    reporter.onEvent(state({ status: "queued" }));
    reporter.onEvent(waiting("waiting for a host with gpu=true"));
    reporter.onEvent(state({ status: "running" }));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lines).toEqual([]);
    expect(agentStatus).not.toHaveBeenCalled();
  });

  it("says a reason once, however often the status is read, and a new one when it changes", async () => {
    reporter.onEvent(state({ status: "queued" }));
    await vi.advanceTimersByTimeAsync(7000);
    expect(agentStatus.mock.calls.length).toBeGreaterThan(2);
    expect(lines).toEqual(["waiting: no host is connected to agent a (start one with tether-agent, or npm start for the local one)"]);
    agentStatus.mockImplementation(async () => status([host({ busy: 2 })]));
    await vi.advanceTimersByTimeAsync(2100);
    expect(lines.slice(1)).toEqual(["waiting for a free slot: all 2 slots of agent a's hosts are busy"]);
    reporter.onEvent(state({ status: "running" }));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lines).toHaveLength(2);
    const calls = agentStatus.mock.calls.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(agentStatus.mock.calls.length).toBe(calls); // no reads once it runs
  });

  it("a status read that fails for a while (the plane restarting) is tried again, not given up", async () => {
    agentStatus.mockImplementation(async () => {
      throw new TypeError("fetch failed");
    });
    reporter.onEvent(state({ status: "queued" }));
    await vi.advanceTimersByTimeAsync(4500);
    expect(agentStatus.mock.calls.length).toBe(3); // at 0.4 s, 2.4 s and 4.4 s: no tight loop
    expect(lines).toEqual([]);
    agentStatus.mockImplementation(async () => status([]));
    await vi.advanceTimersByTimeAsync(2000);
    expect(lines).toEqual(["waiting: no host is connected to agent a (start one with tether-agent, or npm start for the local one)"]);
  });

  it("a start rate from the run's events, while the hosts have room", async () => {
    agentStatus.mockImplementation(async () => status([host()]));
    reporter.onEvent(state({ status: "queued" }));
    reporter.onEvent(waiting('waiting for start_rate key "api": 2 starts in the last 1 s, its limit 2'));
    await vi.advanceTimersByTimeAsync(500);
    expect(lines).toEqual(['waiting for start_rate key "api": 2 starts in the last 1 s, its limit 2']);
  });

  it("a concurrency event from the submit gives way to the status, which is fresher", async () => {
    agentStatus.mockImplementation(async () => status([host({ busy: 2 })]));
    reporter.onEvent(state({ status: "queued" }));
    reporter.onEvent(waiting('waiting for concurrency key "k": 1 of 1 running, 0 before it'));
    await vi.advanceTimersByTimeAsync(500);
    expect(lines).toEqual(["waiting for a free slot: all 2 slots of agent a's hosts are busy"]);
  });

  it("awaiting approval names the commands that answer it; a token that cannot read the status still hears the events", async () => {
    agentStatus.mockImplementation(async () => {
      throw new TetherError(403, null);
    });
    reporter.onEvent(state({ status: "queued" }));
    reporter.onEvent(waiting("debounced: ready at soon", { ready_at: new Date(Date.now() + 60_000).toISOString() }));
    await vi.advanceTimersByTimeAsync(500);
    expect(lines).toEqual(["debounced: ready at soon"]);
    reporter.onEvent(state({ status: "awaiting_approval", approval: { reason: "sh is not on the allowlist" } as Run["approval"] }));
    await vi.advanceTimersByTimeAsync(500);
    expect(lines[1]).toBe("waiting for approval (sh is not on the allowlist): tether approve run_1, or tether deny run_1");
    expect(agentStatus).toHaveBeenCalledTimes(1);
  });
});
