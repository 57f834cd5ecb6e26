/**
 * Which host a run goes to, and what a key's next run does, while hosts come and go: `prefer`,
 * a lane whose running run is lost or cancelled, and labels whose hosts join and leave.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call } from "./helpers.js";
import { enroll, finish, timeTravel } from "./hosts.js";
import { newAgent, type Agent } from "./index-helpers.js";

const make = async (a: Agent, body: Record<string, unknown>) => {
  const r = await call(a.t, "POST", `/v1/agents/${a.name}/runs`, { argv: ["true"], ...body });
  expect(r.status, r.text).toBe(201);
  return r.json as { id: string };
};
/** A closed socket reaches the agent's object a moment later: asks until it has heard the host go. */
async function untilGone(a: Agent, hostId: string): Promise<void> {
  for (;;) {
    const hosts = (await call(a.t, "GET", `/v1/agents/${a.name}/hosts`)).json.hosts as { host_id: string; connected: boolean }[];
    if (!hosts.some((h) => h.host_id === hostId && h.connected)) return;
  }
}
const get = async (a: Agent, id: string) => (await call(a.t, "GET", `/v1/runs/${id}`)).json;
const running = async (a: Agent) => (await call(a.t, "GET", `/v1/agents/${a.name}/status`)).json.running.map((r: { id: string }) => r.id);

describe("routing while hosts come and go", () => {
  it("prefer: of the hosts free to take a run, the one matching most of its labels gets it; with none free, another takes it", async () => {
    const a = await newAgent("prefer");
    // Connected first and with more free slots, `plain` is asked first.
    const plain = await enroll(a.name, a.enrollToken, "plain", { slots: 2 });
    const fast = await enroll(a.name, a.enrollToken, "fast", { slots: 1, labels: { disk: "ssd", zone: "a" } });
    const half = await enroll(a.name, a.enrollToken, "half", { slots: 1, labels: { zone: "a" } });
    const first = await make(a, { prefer: { disk: "ssd", zone: "a" } });
    expect(await fast.sock.next()).toMatchObject({ type: "assign", run_id: first.id });
    const second = await make(a, { prefer: { disk: "ssd", zone: "a" } });
    expect(await half.sock.next()).toMatchObject({ type: "assign", run_id: second.id });
    const third = await make(a, { prefer: { disk: "ssd" } });
    expect(await plain.sock.next()).toMatchObject({ type: "assign", run_id: third.id });
    expect(await get(a, third.id)).toMatchObject({ status: "running", prefer: { disk: "ssd" } });
    expect((await call(a.t, "POST", `/v1/agents/${a.name}/runs`, { argv: ["true"], prefer: { disk: 1 } })).status).toBe(400);
    for (const h of [plain, fast, half]) h.sock.sock.close(1000);
  });

  it("an assignment says whether runs still wait behind it, so a host knows its next job is already due", async () => {
    const a = await newAgent("more-queued");
    const h = await enroll(a.name, a.enrollToken, "h", { slots: 1 });
    const runs = [await make(a, {})];
    const first = await h.sock.next();
    expect(first).toMatchObject({ type: "assign", run_id: runs[0]!.id });
    expect(first.more_queued).toBeUndefined();
    runs.push(await make(a, {}), await make(a, {}));
    await finish(h.credential, runs[0]!.id, 1);
    h.sock.send({ type: "credit", n: 1 });
    expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: runs[1]!.id, more_queued: true });
    await finish(h.credential, runs[1]!.id, 1);
    h.sock.send({ type: "credit", n: 1 });
    const last = await h.sock.next();
    expect(last).toMatchObject({ type: "assign", run_id: runs[2]!.id });
    expect(last.more_queued).toBeUndefined();
    h.sock.sock.close(1000);
  });

  it("a lane whose running run's host is lost: the run is retried before the lane's next, never two at once", async () => {
    const a = await newAgent("lane-loss");
    const h1 = await enroll(a.name, a.enrollToken, "h1", { slots: 2 });
    const runs = [await make(a, { lane: "l" }), await make(a, { lane: "l" }), await make(a, { lane: "l" })];
    expect(await h1.sock.next()).toMatchObject({ run_id: runs[0]!.id, attempt: 1 });
    h1.sock.sock.close(1000);
    const h2 = await enroll(a.name, a.enrollToken, "h2", { slots: 2 });
    // The first run still holds the lane while its host may come back.
    expect(await running(a)).toEqual([runs[0]!.id]);
    expect((await get(a, runs[1]!.id)).status).toBe("queued");
    const stub = await timeTravel(a.ws, a.name, ["lease"]);
    await runDurableObjectAlarm(stub);
    // Lost and waiting for its retry: the lane's next run waits behind it, though h2 is free.
    expect(await get(a, runs[0]!.id)).toMatchObject({ status: "queued", attempt: 1 });
    expect((await get(a, runs[1]!.id)).status).toBe("queued");
    await timeTravel(a.ws, a.name, ["retry"]);
    await runDurableObjectAlarm(stub);
    expect(await h2.sock.next()).toMatchObject({ type: "assign", run_id: runs[0]!.id, attempt: 2 });
    expect(await running(a)).toEqual([runs[0]!.id]);
    await finish(h2.credential, runs[0]!.id, 2);
    h2.sock.send({ type: "credit", n: 1 });
    expect(await h2.sock.next()).toMatchObject({ type: "assign", run_id: runs[1]!.id, attempt: 1 });
    expect(await running(a)).toEqual([runs[1]!.id]);
    expect((await get(a, runs[2]!.id)).status).toBe("queued");
    h2.sock.sock.close(1000);
  });

  it("a lane whose running run is cancelled: the next starts once the cancelled one has ended, and a cancelled waiting run is skipped", async () => {
    const a = await newAgent("lane-cancel");
    const h = await enroll(a.name, a.enrollToken, "h", { slots: 3 });
    const runs = [await make(a, { lane: "l" }), await make(a, { lane: "l" }), await make(a, { lane: "l" })];
    expect(await h.sock.next()).toMatchObject({ run_id: runs[0]!.id });
    expect((await call(a.t, "POST", `/v1/runs/${runs[1]!.id}/cancel`)).json.status).toBe("cancelled");
    // Accepted: the host is told to stop it, and the run ends when it has.
    expect((await call(a.t, "POST", `/v1/runs/${runs[0]!.id}/cancel`)).status).toBe(202);
    expect(await h.sock.next()).toMatchObject({ type: "cancel", run_id: runs[0]!.id });
    // Asked to stop but not yet stopped: its process may still be running, so the lane is still held.
    expect(await running(a)).toEqual([runs[0]!.id]);
    expect((await get(a, runs[2]!.id)).status).toBe("queued");
    await finish(h.credential, runs[0]!.id, 1);
    expect((await get(a, runs[0]!.id)).status).toBe("cancelled");
    expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: runs[2]!.id });
    expect(await running(a)).toEqual([runs[2]!.id]);
    h.sock.sock.close(1000);
  });

  it("runs that require a label wait while no host with it is connected, and go to the next one that joins", async () => {
    const a = await newAgent("joins");
    const plain = await enroll(a.name, a.enrollToken, "plain", { slots: 2 });
    const gpu1 = await enroll(a.name, a.enrollToken, "gpu1", { slots: 1, labels: { gpu: "true" } });
    const runs = [await make(a, { requires: { gpu: "true" } }), await make(a, { requires: { gpu: "true" } })];
    expect(await gpu1.sock.next()).toMatchObject({ run_id: runs[0]!.id });
    // gpu1 leaves with its run; the second run waits, and plain never gets either.
    gpu1.sock.sock.close(1000);
    await untilGone(a, "gpu1");
    const stub = await timeTravel(a.ws, a.name, ["lease"]);
    await runDurableObjectAlarm(stub);
    await timeTravel(a.ws, a.name, ["retry"]);
    await runDurableObjectAlarm(stub);
    const status = (await call(a.t, "GET", `/v1/agents/${a.name}/status`)).json;
    expect(status.running).toEqual([]);
    expect(status.queue.waiting).toEqual([{ reason: "no connected host has gpu=true", runs: 2 }]);
    const gpu2 = await enroll(a.name, a.enrollToken, "gpu2", { slots: 2, labels: { gpu: "true", zone: "b" } });
    const given = [await gpu2.sock.next(), await gpu2.sock.next()];
    expect(given.map((m) => [m.run_id, m.attempt])).toEqual([[runs[0]!.id, 2], [runs[1]!.id, 1]]);
    const other = await make(a, {});
    expect(await plain.sock.next()).toMatchObject({ type: "assign", run_id: other.id });
    plain.sock.sock.close(1000);
    gpu2.sock.sock.close(1000);
  });
});
