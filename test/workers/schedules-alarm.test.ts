/** The real agent object's alarm firing schedules, with its clock under the test's control. */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call } from "./helpers.js";
import { restartAll } from "./restart.js";
import { at, bench, isoOf, type Bench } from "./schedules-helpers.js";

const job = { argv: ["true"] };
const queued = async (b: Bench) => (await call(b.token, "GET", `/v1/agents/${b.agent}`)).json.queued as number;

describe("firing on the agent's alarm", () => {
  it("fires a slot once: a second alarm for it makes no second run", async () => {
    const b = await bench();
    await b.setClock(at("2027-01-10T10:00:30Z"));
    const s = await b.create({ cron: "*/5 * * * *", run: job });
    expect(s.next_run_at).toBe("2027-01-10T10:05:00.000Z");
    await b.alarmAt(at("2027-01-10T10:05:00.120Z"));
    await b.alarmAt(at("2027-01-10T10:05:00.140Z"));
    await b.alarmAt(at("2027-01-10T10:05:02Z"));
    const runs = await b.runsOf(s.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ schedule_id: s.id, scheduled_for: "2027-01-10T10:05:00.000Z", status: "queued" });
    expect(await queued(b)).toBe(1);
    expect(await b.get(s.id)).toMatchObject({ fires: 1, skips: 0, misfires: 0, last_run_id: runs[0].id, last_status: "queued", next_run_at: "2027-01-10T10:10:00.000Z" });
  });

  it("a slot whose submit went through just before the object stopped is not run again after the restart", async () => {
    const b = await bench();
    await b.setClock(at("2027-01-10T10:00:30Z"));
    const s = await b.create({ cron: "*/5 * * * *", run: job, overlap: "allow" });
    await b.alarmAt(at("2027-01-10T10:05:00.100Z"));
    // As if the object stopped after the submit and before it struck the slot off: the slot is still to submit.
    await runInDurableObject(b.stub, (_o, state) => state.storage.sql.exec("INSERT INTO schedule_fires (schedule_id, slot) VALUES (?, ?)", s.id, at("2027-01-10T10:05:00Z")));
    await b.restart(restartAll);
    await b.alarmAt(at("2027-01-10T10:05:01Z"));
    expect(await queued(b)).toBe(1);
    expect((await b.runsOf(s.id)).map((r) => r.scheduled_for)).toEqual(["2027-01-10T10:05:00.000Z"]);
    const left = await runInDurableObject(b.stub, (_o, state) => state.storage.sql.exec("SELECT * FROM schedule_fires").toArray());
    expect(left).toEqual([]);
  });

  it("an early alarm fires nothing, and the slot fires when it comes", async () => {
    const b = await bench();
    await b.setClock(at("2027-01-10T10:00:30Z"));
    const s = await b.create({ cron: "*/5 * * * *", run: job });
    await b.alarmAt(at("2027-01-10T10:04:59.400Z"));
    expect(await queued(b)).toBe(0);
    expect(await b.get(s.id)).toMatchObject({ fires: 0, next_run_at: "2027-01-10T10:05:00.000Z" });
    const timer = await runInDurableObject(b.stub, (_o, state) => state.storage.sql.exec<{ due_at: number }>("SELECT due_at FROM timers WHERE key = ?", `schedule:${s.id}`).one().due_at);
    expect(isoOf(timer)).toBe("2027-01-10T10:05:00.000Z");
    await b.alarmAt(at("2027-01-10T10:05:00.010Z"));
    expect(await queued(b)).toBe(1);
  });

  it("a paused schedule fires nothing; resumed, it owes nothing from the pause", async () => {
    const b = await bench();
    await b.setClock(at("2027-01-10T10:00:30Z"));
    const s = await b.create({ cron: "*/5 * * * *", run: job });
    expect((await call(b.token, "PATCH", `/v1/schedules/${s.id}`, { enabled: false })).status).toBe(200);
    const timers = await runInDurableObject(b.stub, (_o, state) => state.storage.sql.exec("SELECT key FROM timers WHERE kind = 'schedule'").toArray());
    expect(timers).toEqual([]);
    await b.setClock(at("2027-01-10T11:02:00Z"));
    const resumed = (await call(b.token, "PATCH", `/v1/schedules/${s.id}`, { enabled: true })).json;
    expect(resumed.next_run_at).toBe("2027-01-10T11:05:00.000Z");
    await b.alarmAt(at("2027-01-10T11:02:01Z"));
    expect(await queued(b)).toBe(0);
    await b.alarmAt(at("2027-01-10T11:05:00.050Z"));
    expect(await queued(b)).toBe(1);
    expect(await b.get(s.id)).toMatchObject({ fires: 1, misfires: 0 });
  });
});

describe("a restart with overdue slots follows the misfire policy", () => {
  // Created at 10:00:30; down from before 10:05 until 11:02: twelve slots, 10:05 to 11:00, missed.
  async function outage(misfire: string, overlap = "skip") {
    const b = await bench();
    await b.setClock(at("2027-01-10T10:00:30Z"));
    const s = await b.create({ cron: "*/5 * * * *", run: job, misfire, overlap });
    await b.restart(restartAll);
    await b.alarmAt(at("2027-01-10T11:02:00Z"));
    return { b, s, runs: await b.runsOf(s.id), after: await b.get(s.id) };
  }

  it("run_once (the default): one catch-up run, for the latest missed slot", async () => {
    const { b, s, runs, after } = await outage("run_once");
    expect(runs.map((r) => r.scheduled_for)).toEqual(["2027-01-10T11:00:00.000Z"]);
    expect(after).toMatchObject({ fires: 1, misfires: 11, next_run_at: "2027-01-10T11:05:00.000Z" });
    const misfired = (await b.events(s.id)).find((e) => e.type === "misfired");
    expect(misfired).toMatchObject({ policy: "run_once", missed: 11, first: "2027-01-10T10:05:00.000Z", last: "2027-01-10T10:55:00.000Z" });
    expect(await queued(b)).toBe(1);
  });

  it("skip: no run for the missed slots; the next slot fires as usual", async () => {
    const { b, s, runs, after } = await outage("skip");
    expect(runs).toEqual([]);
    expect(after).toMatchObject({ fires: 0, misfires: 12 });
    await b.alarmAt(at("2027-01-10T11:05:00.030Z"));
    expect((await b.runsOf(s.id)).map((r) => r.scheduled_for)).toEqual(["2027-01-10T11:05:00.000Z"]);
  });

  it("catch_up: a run for each missed slot, each once", async () => {
    const { b, s, runs, after } = await outage("catch_up");
    expect(runs.map((r) => r.scheduled_for)).toEqual(Array.from({ length: 12 }, (_, i) => isoOf(at("2027-01-10T10:05:00Z") + i * 300_000)));
    expect(after).toMatchObject({ fires: 12, misfires: 0 });
    await b.alarmAt(at("2027-01-10T11:02:00.500Z"));
    expect(await queued(b)).toBe(12);
  });

  it("catch_up runs at most the latest 100 missed slots: stale timers never make a burst", async () => {
    const b = await bench();
    await b.setClock(at("2027-01-10T10:00:30Z"));
    const s = await b.create({ cron: "* * * * *", run: job, misfire: "catch_up", overlap: "allow" });
    await b.restart(restartAll);
    await b.alarmAt(at("2027-01-11T10:00:30Z"));
    const after = await b.get(s.id);
    expect(after).toMatchObject({ fires: 100, misfires: 1440 - 100 });
    expect(await queued(b)).toBe(100);
    const runs = await b.runsOf(s.id);
    expect(runs[0].scheduled_for).toBe("2027-01-11T08:21:00.000Z");
    expect(runs[99].scheduled_for).toBe("2027-01-11T10:00:00.000Z");
  });
});

describe("overlap, while the previous run is still queued (no host is connected)", () => {
  async function twoSlots(overlap: string) {
    const b = await bench();
    await b.setClock(at("2027-01-10T10:00:30Z"));
    const s = await b.create({ cron: "*/5 * * * *", run: job, overlap });
    await b.alarmAt(at("2027-01-10T10:05:00.050Z"));
    await b.alarmAt(at("2027-01-10T10:10:00.050Z"));
    return { b, s };
  }

  it("skip (the default): the slot is skipped and recorded as such", async () => {
    const { b, s } = await twoSlots("skip");
    const [first] = await b.runsOf(s.id);
    expect(await queued(b)).toBe(1);
    expect(await b.get(s.id)).toMatchObject({ fires: 1, skips: 1, last_run_id: first.id });
    expect((await b.events(s.id)).filter((e) => e.type === "skipped")).toEqual([
      expect.objectContaining({ slot: "2027-01-10T10:10:00.000Z", previous_run_id: first.id, reason: "overlap" }),
    ]);
  });

  it("skip: once the previous run has ended, the next slot fires", async () => {
    const { b, s } = await twoSlots("skip");
    const [first] = await b.runsOf(s.id);
    await call(b.token, "POST", `/v1/runs/${first.id}/cancel`);
    await b.alarmAt(at("2027-01-10T10:15:00.050Z"));
    expect((await b.runsOf(s.id)).map((r) => r.scheduled_for)).toEqual(["2027-01-10T10:05:00.000Z", "2027-01-10T10:15:00.000Z"]);
  });

  it("allow: both run", async () => {
    const { b, s } = await twoSlots("allow");
    expect((await b.runsOf(s.id)).map((r) => r.scheduled_for)).toEqual(["2027-01-10T10:05:00.000Z", "2027-01-10T10:10:00.000Z"]);
    expect(await queued(b)).toBe(2);
    expect(await b.get(s.id)).toMatchObject({ fires: 2, skips: 0 });
  });

  it("queue: one slot waits, a further one is skipped, and the waiting one runs when the previous ends", async () => {
    const { b, s } = await twoSlots("queue");
    expect(await b.get(s.id)).toMatchObject({ fires: 1, skips: 0, queued_slot: "2027-01-10T10:10:00.000Z" });
    await b.alarmAt(at("2027-01-10T10:15:00.050Z"));
    expect(await b.get(s.id)).toMatchObject({ fires: 1, skips: 1, queued_slot: "2027-01-10T10:10:00.000Z" });
    const [first] = await b.runsOf(s.id);
    await b.setClock(at("2027-01-10T10:16:00Z"));
    await call(b.token, "POST", `/v1/runs/${first.id}/cancel`);
    // The run leaving the queue points the schedule's timer at now, so the waiting slot goes at once.
    const due = await runInDurableObject(b.stub, (_o, state) => state.storage.sql.exec<{ due_at: number }>("SELECT due_at FROM timers WHERE key = ?", `schedule:${s.id}`).one().due_at);
    expect(isoOf(due)).toBe("2027-01-10T10:16:00.000Z");
    await b.alarmAt(at("2027-01-10T10:16:00.010Z"));
    const runs = await b.runsOf(s.id);
    expect(runs.map((r) => r.scheduled_for)).toEqual(["2027-01-10T10:05:00.000Z", "2027-01-10T10:10:00.000Z"]);
    expect(await b.get(s.id)).toMatchObject({ fires: 2, skips: 1, queued_slot: null, last_run_id: runs[1].id, last_status: "queued" });
    expect(await queued(b)).toBe(1);
  });

  it("pausing drops a waiting slot", async () => {
    const { b, s } = await twoSlots("queue");
    const paused = (await call(b.token, "PATCH", `/v1/schedules/${s.id}`, { enabled: false })).json;
    expect(paused).toMatchObject({ queued_slot: null, skips: 1 });
    const [first] = await b.runsOf(s.id);
    await call(b.token, "POST", `/v1/runs/${first.id}/cancel`);
    await b.alarmAt(at("2027-01-10T10:16:00Z"));
    expect(await b.runsOf(s.id)).toHaveLength(1);
  });
});

describe("daylight saving on the real object", () => {
  async function slotsOver(cron: string, timezone: string, from: string, alarms: string[]) {
    const b = await bench();
    await b.setClock(at(from));
    const s = await b.create({ cron, timezone, run: job, overlap: "allow" });
    const nexts: string[] = [s.next_run_at];
    for (const a of alarms) {
      await b.alarmAt(at(a));
      nexts.push((await b.get(s.id)).next_run_at);
    }
    return { fired: (await b.runsOf(s.id)).map((r) => r.scheduled_for), nexts };
  }

  it("New York, spring forward: 02:30 that day does not exist, so it fires once at 03:00 EDT", async () => {
    const { fired, nexts } = await slotsOver("30 2 * * *", "America/New_York", "2027-03-13T12:00:00Z", ["2027-03-14T07:00:00.100Z", "2027-03-14T07:30:00.100Z", "2027-03-15T06:30:00.100Z"]);
    expect(fired).toEqual(["2027-03-14T07:00:00.000Z", "2027-03-15T06:30:00.000Z"]);
    expect(nexts).toEqual(["2027-03-14T07:00:00.000Z", "2027-03-15T06:30:00.000Z", "2027-03-15T06:30:00.000Z", "2027-03-16T06:30:00.000Z"]);
  });

  it("New York, fall back: 01:30 happens twice and fires once, at the first", async () => {
    const { fired } = await slotsOver("30 1 * * *", "America/New_York", "2027-11-06T12:00:00Z", ["2027-11-07T05:30:00.100Z", "2027-11-07T06:30:00.100Z", "2027-11-08T06:30:00.100Z"]);
    expect(fired).toEqual(["2027-11-07T05:30:00.000Z", "2027-11-08T06:30:00.000Z"]);
  });

  it("Berlin, spring forward and fall back for a job at 02:30", async () => {
    const spring = await slotsOver("30 2 * * *", "Europe/Berlin", "2027-03-27T12:00:00Z", ["2027-03-28T01:00:00.100Z", "2027-03-28T01:30:00.100Z", "2027-03-29T00:30:00.100Z"]);
    expect(spring.fired).toEqual(["2027-03-28T01:00:00.000Z", "2027-03-29T00:30:00.000Z"]);
    const fall = await slotsOver("30 2 * * *", "Europe/Berlin", "2027-10-30T12:00:00Z", ["2027-10-31T00:30:00.100Z", "2027-10-31T01:30:00.100Z", "2027-11-01T01:30:00.100Z"]);
    expect(fall.fired).toEqual(["2027-10-31T00:30:00.000Z", "2027-11-01T01:30:00.000Z"]);
  });
});
