/** Deciding slots: cron in time zones across daylight saving, and the misfire policies, with the time given. */
import { describe, expect, it } from "vitest";
import type { Misfire } from "../../src/protocol/schedule.js";
import { compileCron, cronProblem, latestUpTo, nextAfter } from "../../src/schedules/cron.js";
import { CATCH_UP_MAX, MISSED_COUNT_MAX, ON_TIME_MS, planFires } from "../../src/schedules/plan.js";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

/** Runs the alarm at every slot (plus a little lateness) from `from` to `to`, as the object would; returns what fired. */
function walk(cron: string, tz: string, from: string, to: string, lateMs = 40): string[] {
  const c = compileCron(cron, tz);
  let cursor = at(from);
  const fired: string[] = [];
  for (;;) {
    const next = nextAfter(c, cursor);
    if (next === null || next > at(to)) return fired;
    const plan = planFires({ cron: c, cursor, now: next + lateMs, misfire: "run_once" });
    expect(plan.missed).toBe(0);
    fired.push(...plan.fire.map(iso));
    cursor = plan.cursor;
  }
}

const localDate = (ms: number, tz: string) => new Intl.DateTimeFormat("en-CA", { timeZone: tz, dateStyle: "short" }).format(ms);

describe("daylight saving: a time of day fires once a day", () => {
  const cases: [string, string, string, string, string[]][] = [
    // 2027-03-14 in New York: 02:00 EST jumps to 03:00 EDT.
    ["30 2 * * *", "America/New_York", "2027-03-13T00:00:00Z", "2027-03-15T23:00:00Z", ["2027-03-13T07:30:00.000Z", "2027-03-14T07:00:00.000Z", "2027-03-15T06:30:00.000Z"]],
    ["0 2 * * *", "America/New_York", "2027-03-13T00:00:00Z", "2027-03-15T23:00:00Z", ["2027-03-13T07:00:00.000Z", "2027-03-14T07:00:00.000Z", "2027-03-15T06:00:00.000Z"]],
    // 2027-11-07 in New York: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice.
    ["30 1 * * *", "America/New_York", "2027-11-06T00:00:00Z", "2027-11-08T23:00:00Z", ["2027-11-06T05:30:00.000Z", "2027-11-07T05:30:00.000Z", "2027-11-08T06:30:00.000Z"]],
    // 2027-03-28 in Berlin: 02:00 CET jumps to 03:00 CEST.
    ["30 2 * * *", "Europe/Berlin", "2027-03-27T00:00:00Z", "2027-03-29T23:00:00Z", ["2027-03-27T01:30:00.000Z", "2027-03-28T01:00:00.000Z", "2027-03-29T00:30:00.000Z"]],
    // 2027-10-31 in Berlin: 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice.
    ["30 2 * * *", "Europe/Berlin", "2027-10-30T00:00:00Z", "2027-11-01T23:00:00Z", ["2027-10-30T00:30:00.000Z", "2027-10-31T00:30:00.000Z", "2027-11-01T01:30:00.000Z"]],
    // With a seconds field, and as a list of hours: still times of day.
    ["0 30 2 * * *", "Europe/Berlin", "2027-03-27T00:00:00Z", "2027-03-29T23:00:00Z", ["2027-03-27T01:30:00.000Z", "2027-03-28T01:00:00.000Z", "2027-03-29T00:30:00.000Z"]],
    ["30 2,14 * * *", "America/New_York", "2027-03-14T00:00:00Z", "2027-03-14T23:59:00Z", ["2027-03-14T07:00:00.000Z", "2027-03-14T18:30:00.000Z"]],
    ["30 1,13 * * *", "America/New_York", "2027-11-07T00:00:00Z", "2027-11-07T23:59:00Z", ["2027-11-07T05:30:00.000Z", "2027-11-07T18:30:00.000Z"]],
  ];
  for (const [cron, tz, from, to, expected] of cases) {
    it(`${cron} in ${tz} from ${from.slice(0, 10)}`, () => {
      expect(walk(cron, tz, from, to)).toEqual(expected);
    });
  }

  for (const tz of ["America/New_York", "Europe/Berlin"]) {
    for (const cron of ["30 1 * * *", "30 2 * * *", "0 3 * * *"]) {
      it(`${cron} in ${tz} fires once on every local day of 2027, no more, no less`, () => {
        const fired = walk(cron, tz, "2026-12-31T12:00:00Z", "2027-12-31T12:00:00Z").map((s) => localDate(Date.parse(s), tz));
        const days = fired.filter((d) => d.startsWith("2027"));
        expect(days).toHaveLength(365);
        expect(new Set(days).size).toBe(365);
      });
    }
  }
});

describe("daylight saving: an interval keeps its rhythm in real time", () => {
  it("hourly in New York: 23 fires on the spring day, 25 on the autumn day, always an hour apart", () => {
    const spring = walk("0 * * * *", "America/New_York", "2027-03-14T04:59:00Z", "2027-03-15T03:59:00Z");
    const fall = walk("@hourly", "America/New_York", "2027-11-07T03:59:00Z", "2027-11-08T04:59:00Z");
    expect(spring).toHaveLength(23);
    expect(fall).toHaveLength(25);
    for (const list of [spring, fall]) for (let i = 1; i < list.length; i++) expect(at(list[i]!) - at(list[i - 1]!)).toBe(3600_000);
  });

  it("every 15 minutes in Berlin across both changes: 15 minutes apart, none twice", () => {
    for (const [from, to] of [["2027-03-27T22:00:00Z", "2027-03-28T04:00:00Z"], ["2027-10-30T22:00:00Z", "2027-10-31T04:00:00Z"]] as const) {
      const list = walk("*/15 * * * *", "Europe/Berlin", from, to);
      expect(new Set(list).size).toBe(list.length);
      for (let i = 1; i < list.length; i++) expect(at(list[i]!) - at(list[i - 1]!)).toBe(900_000);
    }
  });

  it("slots found going back are the slots found going forward, across the changes", () => {
    for (const [cron, tz] of [["*/20 * * * *", "Europe/Berlin"], ["30 1 * * *", "America/New_York"], ["0 30 2 * * *", "Europe/Berlin"], ["15 0-3 * * *", "America/New_York"]] as const) {
      const c = compileCron(cron, tz);
      for (const [from, to] of [["2027-03-12T00:00:00Z", "2027-03-30T00:00:00Z"], ["2027-10-29T00:00:00Z", "2027-11-09T00:00:00Z"]] as const) {
        const forward: number[] = [];
        for (let t = nextAfter(c, at(from)); t !== null && t <= at(to); t = nextAfter(c, t)) forward.push(t);
        const back = latestUpTo(c, at(to), forward.length + 5).filter((t) => t > at(from)).reverse();
        expect(back.map(iso), `${cron} ${tz}`).toEqual(forward.map(iso));
      }
    }
  });
});

describe("planning a tick", () => {
  const every5 = compileCron("*/5 * * * *", "UTC");
  const plan = (cursor: string, now: string | number, misfire: Misfire = "run_once", cron = every5) =>
    planFires({ cron, cursor: at(cursor), now: typeof now === "number" ? now : at(now), misfire });

  it("fires the slot that came due, and moves the cursor past it", () => {
    const p = plan("2027-01-01T10:00:30Z", "2027-01-01T10:05:00.200Z");
    expect(p.fire.map(iso)).toEqual(["2027-01-01T10:05:00.000Z"]);
    expect(p).toMatchObject({ missed: 0, cursor: at("2027-01-01T10:05:00.200Z"), next: at("2027-01-01T10:10:00Z") });
  });

  it("early: fires nothing and leaves the cursor", () => {
    expect(plan("2027-01-01T10:00:30Z", "2027-01-01T10:04:59.990Z")).toEqual({ fire: [], missed: 0, missedRange: null, cursor: at("2027-01-01T10:00:30Z"), next: at("2027-01-01T10:05:00Z") });
  });

  it("again, or with the clock behind the cursor: fires nothing", () => {
    const p = plan("2027-01-01T10:00:30Z", "2027-01-01T10:05:00.200Z");
    expect(planFires({ cron: every5, cursor: p.cursor, now: p.cursor, misfire: "catch_up" }).fire).toEqual([]);
    expect(planFires({ cron: every5, cursor: p.cursor, now: p.cursor - 5000, misfire: "catch_up" }).fire).toEqual([]);
  });

  it(`a lone slot up to ${ON_TIME_MS / 1000} s late is on time for every policy`, () => {
    for (const m of ["run_once", "skip", "catch_up"] as const) {
      expect(plan("2027-01-01T10:00:30Z", at("2027-01-01T10:05:00Z") + ON_TIME_MS, m)).toMatchObject({ fire: [at("2027-01-01T10:05:00Z")], missed: 0 });
    }
  });

  it("a lone slot later than that is a misfire", () => {
    const now = at("2027-01-01T10:05:00Z") + ON_TIME_MS + 1;
    expect(plan("2027-01-01T10:00:30Z", now, "run_once")).toMatchObject({ fire: [at("2027-01-01T10:05:00Z")], missed: 0 });
    expect(plan("2027-01-01T10:00:30Z", now, "skip")).toMatchObject({ fire: [], missed: 1, missedRange: [at("2027-01-01T10:05:00Z"), at("2027-01-01T10:05:00Z")] });
    expect(plan("2027-01-01T10:00:30Z", now, "catch_up")).toMatchObject({ fire: [at("2027-01-01T10:05:00Z")], missed: 0 });
  });

  it("after an outage: run_once runs the latest, skip none, catch_up each", () => {
    const now = "2027-01-01T11:02:00Z"; // 10:05 .. 11:00 missed: 12 slots
    expect(plan("2027-01-01T10:00:30Z", now, "run_once")).toMatchObject({ fire: [at("2027-01-01T11:00:00Z")], missed: 11, missedRange: [at("2027-01-01T10:05:00Z"), at("2027-01-01T10:55:00Z")] });
    expect(plan("2027-01-01T10:00:30Z", now, "skip")).toMatchObject({ fire: [], missed: 12, missedRange: [at("2027-01-01T10:05:00Z"), at("2027-01-01T11:00:00Z")] });
    const c = plan("2027-01-01T10:00:30Z", now, "catch_up");
    expect(c.fire).toHaveLength(12);
    expect(c.fire[0]).toBe(at("2027-01-01T10:05:00Z"));
    expect(c.missed).toBe(0);
  });

  it("skip still runs the latest slot when it is on time, and counts the older ones missed", () => {
    expect(plan("2027-01-01T10:00:30Z", "2027-01-01T10:10:00.500Z", "skip")).toMatchObject({ fire: [at("2027-01-01T10:10:00Z")], missed: 1 });
  });

  it(`catch_up runs at most ${CATCH_UP_MAX}, the latest, and counts the rest`, () => {
    const p = plan("2027-01-01T00:00:30Z", "2027-01-01T12:30:10Z", "catch_up"); // 150 slots, 00:05 .. 12:30
    expect(p.fire).toHaveLength(CATCH_UP_MAX);
    expect(iso(p.fire[0]!)).toBe("2027-01-01T04:15:00.000Z");
    expect(iso(p.fire[CATCH_UP_MAX - 1]!)).toBe("2027-01-01T12:30:00.000Z");
    expect(p.missed).toBe(50);
    expect(p.missedRange!.map(iso)).toEqual(["2027-01-01T00:05:00.000Z", "2027-01-01T04:10:00.000Z"]);
  });

  it(`a very long outage is counted up to ${MISSED_COUNT_MAX} slots, without walking them all`, () => {
    const perSecond = compileCron("* * * * * *", "UTC");
    const p = planFires({ cron: perSecond, cursor: at("2027-01-01T00:00:00Z"), now: at("2027-01-02T00:00:00.5Z"), misfire: "run_once" });
    expect(p.fire.map(iso)).toEqual(["2027-01-02T00:00:00.000Z"]);
    expect(p.missed).toBe(MISSED_COUNT_MAX - 1);
  });
});

describe("validating expressions", () => {
  it("accepts 5 and 6 fields and the macros, in any zone the runtime knows", () => {
    for (const cron of ["* * * * *", "*/10 * * * * *", "0 9 * * MON-FRI", "0 0 L * *", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]) {
      expect(cronProblem(cron, "Asia/Kolkata"), cron).toBeNull();
    }
  });

  it("says what is wrong", () => {
    expect(cronProblem("60 * * * *", "UTC")).toMatch(/minute/);
    expect(cronProblem("* * * *", "UTC")).toMatch(/4 fields/);
    expect(cronProblem("@sometimes", "UTC")).toMatch(/unknown macro @sometimes/);
    expect(cronProblem("* * * * *", "Not/AZone")).toMatch(/Not\/AZone.*not a time zone/);
    expect(cronProblem("0 0 31 2 *", "UTC")).toMatch(/no date/);
  });
});
