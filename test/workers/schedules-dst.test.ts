/**
 * Daylight saving as Vixie cron (Debian's cron daemon) handles it, through the functions the
 * firing path and the preview use: a fixed-time job (no `*` leading its minute, hour or second
 * field) runs each time a spring-forward gap swallowed once, right after the gap, and a repeated
 * time once; a wild job keeps real time.
 */
import { describe, expect, it } from "vitest";
import { compileCron, latestUpTo, nextAfter, upcoming } from "../../src/schedules/cron.js";
import { planFires } from "../../src/schedules/plan.js";
import { call } from "./helpers.js";
import { at, bench, isoOf } from "./schedules-helpers.js";

/** Ticks the planner at every slot, `lateMs` late, as the object's alarm would; returns what it fired. */
function fired(cron: string, tz: string, from: string, to: string, lateMs: number): string[] {
  const c = compileCron(cron, tz);
  let cursor = at(from);
  const out: string[] = [];
  for (let next = nextAfter(c, cursor); next !== null && next <= at(to); next = nextAfter(c, cursor)) {
    const plan = planFires({ cron: c, cursor, now: next + lateMs, misfire: "skip" });
    expect(plan.missed).toBe(0);
    out.push(...plan.fire.map(isoOf));
    cursor = plan.cursor;
  }
  return out;
}

/** The fires of one local day, checked against the preview's list and the list found going back. */
function day(cron: string, tz: string, from: string, to: string): string[] {
  const list = fired(cron, tz, from, to, 0);
  expect(fired(cron, tz, from, to, 40)).toEqual(list);
  const c = compileCron(cron, tz);
  expect(upcoming(c, at(from), list.length + 1).map(isoOf).slice(0, list.length)).toEqual(list);
  expect(latestUpTo(c, at(to), list.length + 3).filter((t) => t > at(from)).reverse().map(isoOf)).toEqual(list);
  return list;
}

const hourly = (first: string, n: number) => Array.from({ length: n }, (_, i) => isoOf(at(first) + i * 3_600_000));

// 14 March 2027 in New York: 02:00 EST jumps to 03:00 EDT (07:00Z). Its local day is 05:00Z to 04:00Z.
const NY_SPRING = ["America/New_York", "2027-03-14T04:59:00Z", "2027-03-15T03:59:00Z"] as const;
// 7 November 2027 in New York: 02:00 EDT falls back to 01:00 EST. Its local day is 04:00Z to 05:00Z.
const NY_AUTUMN = ["America/New_York", "2027-11-07T03:59:00Z", "2027-11-08T04:59:00Z"] as const;

describe("spring forward, as Vixie cron", () => {
  it("a ranged step is a list of times: 0 0-23/2 runs its 02:00 at 03:00", () => {
    const evenHoursEdt = hourly("2027-03-14T08:00:00Z", 19).filter((_, i) => i % 2 === 0); // 04:00 .. 22:00 EDT
    expect(day("0 0-23/2 * * *", ...NY_SPRING)).toEqual(["2027-03-14T05:00:00.000Z", "2027-03-14T07:00:00.000Z", ...evenHoursEdt]);
  });

  it("a bare step is an interval: 0 */2 skips the 02:00 the gap swallowed, as Vixie's wild jobs do", () => {
    const evenHoursEdt = hourly("2027-03-14T08:00:00Z", 19).filter((_, i) => i % 2 === 0); // 04:00 .. 22:00 EDT
    expect(day("0 */2 * * *", ...NY_SPRING)).toEqual(["2027-03-14T05:00:00.000Z", ...evenHoursEdt]);
    expect(day("? */2 * * *", ...NY_SPRING)).toHaveLength(day("* */2 * * *", ...NY_SPRING).length);
  });

  it("each time the gap swallowed runs once after it: 0,30 2 runs twice at 03:00, a millisecond apart", () => {
    expect(day("0,30 2 * * *", ...NY_SPRING)).toEqual(["2027-03-14T07:00:00.000Z", "2027-03-14T07:00:00.001Z"]);
  });

  it("0 1-3 runs at 01:00, then for 02:00 and for 03:00, both at 03:00", () => {
    expect(day("0 1-3 * * *", ...NY_SPRING)).toEqual(["2027-03-14T06:00:00.000Z", "2027-03-14T07:00:00.000Z", "2027-03-14T07:00:00.001Z"]);
  });

  it("30 2 in Berlin on 28 March 2027 runs once, at 03:00 CEST", () => {
    expect(day("30 2 * * *", "Europe/Berlin", "2027-03-27T22:59:00Z", "2027-03-28T21:59:00Z")).toEqual(["2027-03-28T01:00:00.000Z"]);
  });

  it("@hourly runs 23 times, an hour apart", () => {
    expect(day("@hourly", ...NY_SPRING)).toEqual(hourly("2027-03-14T05:00:00Z", 23));
  });

  it("the slots that meet at the gap's end are due together: one tick fires them all, and a second none", () => {
    const c = compileCron("0,30 2 * * *", "America/New_York");
    const p = planFires({ cron: c, cursor: at("2027-03-14T06:59:00Z"), now: at("2027-03-14T07:00:00Z"), misfire: "skip" });
    expect(p.fire.map(isoOf)).toEqual(["2027-03-14T07:00:00.000Z", "2027-03-14T07:00:00.001Z"]);
    expect(p).toMatchObject({ missed: 0, cursor: at("2027-03-14T07:00:00.001Z"), next: at("2027-03-15T06:00:00Z") });
    expect(planFires({ cron: c, cursor: p.cursor, now: at("2027-03-14T07:00:00.500Z"), misfire: "catch_up" }).fire).toEqual([]);
  });

  it("the agent's alarm makes a run for each, with its own slot, and the preview shows them", async () => {
    const b = await bench("dst");
    await b.setClock(at("2027-03-14T06:30:00Z"));
    const s = await b.create({ cron: "0 1-3 * * *", timezone: "America/New_York", run: { argv: ["true"] } });
    const preview = await call(b.token, "GET", `/v1/schedules/${s.id}/preview?count=3&from=2027-03-14T06:30:00Z`);
    expect(preview.json.times).toEqual(["2027-03-14T07:00:00.000Z", "2027-03-14T07:00:00.001Z", "2027-03-15T05:00:00.000Z"]);
    await b.alarmAt(at("2027-03-14T07:00:00.004Z"));
    await b.alarmAt(at("2027-03-14T07:00:01Z"));
    expect((await b.runsOf(s.id)).map((r) => r.scheduled_for)).toEqual(["2027-03-14T07:00:00.000Z", "2027-03-14T07:00:00.001Z"]);
    expect(await b.get(s.id)).toMatchObject({ fires: 2, skips: 0, misfires: 0, next_run_at: "2027-03-15T05:00:00.000Z" });
  });
});

describe("fall back, as Vixie cron", () => {
  it("a fixed-time job runs a repeated time once: 0 1-23/2 runs 01:00 only in EDT", () => {
    const oddHoursEst = hourly("2027-11-07T08:00:00Z", 21).filter((_, i) => i % 2 === 0); // 03:00 .. 23:00 EST
    expect(day("0 1-23/2 * * *", ...NY_AUTUMN)).toEqual(["2027-11-07T05:00:00.000Z", ...oddHoursEst]);
  });

  it("a wild job runs both passes: */30 1 runs four times", () => {
    expect(day("*/30 1 * * *", ...NY_AUTUMN)).toEqual(["2027-11-07T05:00:00.000Z", "2027-11-07T05:30:00.000Z", "2027-11-07T06:00:00.000Z", "2027-11-07T06:30:00.000Z"]);
  });

  it("@hourly runs 25 times, an hour apart", () => {
    expect(day("@hourly", ...NY_AUTUMN)).toEqual(hourly("2027-11-07T04:00:00Z", 25));
  });
});
