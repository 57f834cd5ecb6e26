import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Run, Schedule } from "../../src/client/sdk.js";
import { repoRoot } from "../../src/local/paths.js";
import { isTerminal } from "../../src/protocol/run.js";
import { startStack, waitFor, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack({ slots: 8, restartable: true });
});
afterAll(async () => {
  await s?.stop();
});

const fired = async (id: string) => (await s.client.scheduleEvents(id)).flatMap((e) => (e.type === "fired" ? [e.run_id] : []));

/** The schedule's runs once `n` of them have ended. */
async function endedRuns(id: string, n: number): Promise<Run[]> {
  return waitFor(`${n} runs of ${id} to end`, async () => {
    const ids = await fired(id);
    if (ids.length < n) return null;
    const runs = await Promise.all(ids.slice(0, n).map((r) => s.client.get(r)));
    return runs.every((r) => isTerminal(r.status)) && runs;
  });
}

/** Waits until another schedule, firing every second, has fired `n` more times: time has passed without a sleep. */
async function secondsPass(n: number): Promise<void> {
  const clock = await s.client.createSchedule(s.agent, { cron: "* * * * * *", run: { argv: ["true"] }, overlap: "allow" });
  await waitFor(`${n} ticks`, async () => (await s.client.getSchedule(clock.id)).fires >= n);
  await s.client.deleteSchedule(clock.id);
}

describe("schedules on the real stack", () => {
  it("an every-second schedule makes real runs on a real host, and pausing it stops them", async () => {
    const sched = await s.client.createSchedule(s.agent, { cron: "* * * * * *", run: { argv: ["sh", "-c", 'echo "tick $TETHER_RUN_ID"'] } });
    const runs = await endedRuns(sched.id, 3);
    for (const run of runs) {
      expect(run).toMatchObject({ status: "succeeded", schedule_id: sched.id });
      expect(new Date(run.scheduled_for!).getUTCMilliseconds()).toBe(0);
      expect(Buffer.from(await s.client.output(run.id)).toString()).toBe(`tick ${run.id}\n`);
    }
    expect(new Set(runs.map((r) => r.scheduled_for)).size).toBe(3);

    const paused = await s.client.updateSchedule(sched.id, { enabled: false });
    expect(paused).toMatchObject({ enabled: false, next_run_at: null });
    await secondsPass(3);
    expect((await s.client.getSchedule(sched.id)).fires).toBe(paused.fires);

    await s.client.updateSchedule(sched.id, { enabled: true });
    await waitFor("the resumed schedule to fire", async () => (await s.client.getSchedule(sched.id)).fires > paused.fires);
    await s.client.deleteSchedule(sched.id);
  });

  it("keeps firing after the control plane restarts, woken by nothing but its own alarm", async () => {
    const sched = await s.client.createSchedule(s.agent, { cron: "* * * * * *", run: { argv: ["true"] } });
    await endedRuns(sched.id, 1);
    const listed = async () => (await s.client.listSchedules({ agent: s.agent })).schedules.find((x) => x.id === sched.id)!;
    await s.restartPlane();
    // Only the workspace's listing is read, so nothing but the agent's own alarm wakes it.
    const before = await listed();
    await waitFor("fires after the restart", async () => (await listed()).fires >= before.fires + 2);
    const slots = (await Promise.all((await fired(sched.id)).map((r) => s.client.get(r)))).map((r) => r.scheduled_for);
    expect(new Set(slots).size).toBe(slots.length);
    await s.client.deleteSchedule(sched.id);
  });

  it("lists, previews, triggers and deletes through the CLI", async () => {
    const bin = join(repoRoot(), "bin", "tether.mjs");
    const tether = (...args: string[]) => spawnSync(process.execPath, [bin, "schedules", ...args], { env: { ...process.env, TETHER_URL: s.url, TETHER_TOKEN: s.token }, encoding: "utf8", timeout: 30_000 });
    const created = tether("create", s.agent, "--cron", "30 2 * * *", "--tz", "America/New_York", "--env", "WHO=cli", "--paused", "--", "sh", "-c", 'echo "hi $WHO"');
    expect(created.status, created.stderr).toBe(0);
    const sched = JSON.parse(created.stdout) as Schedule;
    expect(sched).toMatchObject({ agent: s.agent, cron: "30 2 * * *", timezone: "America/New_York", enabled: false, run: { argv: ["sh", "-c", 'echo "hi $WHO"'] } });
    expect(tether("ls", "--agent", s.agent).stdout).toContain(sched.id);
    expect(tether("preview", sched.id, "--count", "2", "--from", "2027-03-13T12:00:00Z").stdout).toBe("2027-03-14T07:00:00.000Z\n2027-03-15T06:30:00.000Z\n");
    const runId = tether("trigger", sched.id).stdout.trim();
    const run = await s.client.wait(runId);
    expect(run).toMatchObject({ status: "succeeded", schedule_id: sched.id });
    expect(Buffer.from(await s.client.output(runId)).toString()).toBe("hi cli\n");
    expect(JSON.parse(tether("update", sched.id, "--cron", "@daily", "--tz", "Europe/Berlin").stdout)).toMatchObject({ cron: "@daily", timezone: "Europe/Berlin", last_run_id: runId });
    const bad = tether("update", sched.id, "--cron", "99 * * * *");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/minute/);
    expect(tether("delete", sched.id).status).toBe(0);
    const gone = tether("get", sched.id);
    expect(gone.status).toBe(4);
    expect(gone.stderr).toContain("does not exist");
  });
});
