import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { agentStub } from "../../src/env.js";
import { SCHEDULES_PER_AGENT } from "../../src/schedules/schedules.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";
import { ENV } from "./schedules-helpers.js";

const job = { argv: ["echo", "hi"] };

async function withAgent(name = "sched") {
  const t = await workspaceToken(freshWorkspace());
  expect((await call(t, "POST", "/v1/agents", { name })).status).toBe(201);
  return t;
}

describe("schedules: create, read, change, delete", () => {
  it("creates with defaults, shows its state, and lists it", async () => {
    const t = await withAgent();
    const r = await call(t, "POST", "/v1/agents/sched/schedules", { cron: "0 3 * * *", run: { ...job, env: { SECRET: "x" }, labels: { k: "v" } } });
    expect(r.status).toBe(201);
    const s = r.json;
    expect(s.id).toMatch(/^sch_[0-9a-f]{20}_sched$/);
    expect(s).toMatchObject({
      agent: "sched",
      cron: "0 3 * * *",
      timezone: "UTC",
      run: { argv: ["echo", "hi"], labels: { k: "v" } },
      enabled: true,
      overlap: "skip",
      misfire: "run_once",
      last_run_at: null,
      last_run_id: null,
      last_status: null,
      fires: 0,
      skips: 0,
      misfires: 0,
    });
    // Environment values are never shown back, as for runs.
    expect(s.run.env).toBeUndefined();
    const next = new Date(s.next_run_at);
    expect(next.getUTCHours()).toBe(3);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect((await call(t, "GET", `/v1/schedules/${s.id}`)).json).toEqual(s);
    const list = await call(t, "GET", "/v1/schedules");
    expect(list.json).toEqual({ schedules: [s], next_cursor: null });
  });

  it("pauses and resumes with PATCH, and replaces the job", async () => {
    const t = await withAgent();
    const s = (await call(t, "POST", "/v1/agents/sched/schedules", { cron: "*/5 * * * *", timezone: "Europe/Berlin", run: job })).json;
    const paused = await call(t, "PATCH", `/v1/schedules/${s.id}`, { enabled: false });
    expect(paused.status).toBe(200);
    expect(paused.json).toMatchObject({ enabled: false, next_run_at: null });
    const changed = await call(t, "PATCH", `/v1/schedules/${s.id}`, { enabled: true, cron: "@hourly", run: { argv: ["true"] }, overlap: "queue", misfire: "catch_up" });
    expect(changed.json).toMatchObject({ enabled: true, cron: "@hourly", run: { argv: ["true"] }, overlap: "queue", misfire: "catch_up" });
    expect(new Date(changed.json.next_run_at).getUTCMinutes()).toBe(0);
    expect((await call(t, "GET", "/v1/schedules")).json.schedules[0]).toEqual(changed.json);
  });

  it("deletes: gone from GET and from the list; a second delete is 404", async () => {
    const t = await withAgent();
    const s = (await call(t, "POST", "/v1/agents/sched/schedules", { cron: "@daily", run: job })).json;
    expect((await call(t, "DELETE", `/v1/schedules/${s.id}`)).status).toBe(204);
    expect((await call(t, "GET", `/v1/schedules/${s.id}`)).status).toBe(404);
    expect((await call(t, "DELETE", `/v1/schedules/${s.id}`)).status).toBe(404);
    expect((await call(t, "GET", "/v1/schedules")).json.schedules).toEqual([]);
  });

  it("deleting the agent deletes its schedules, and a new agent of that name starts with none", async () => {
    const t = await withAgent();
    await call(t, "POST", "/v1/agents", { name: "other" });
    const a = (await call(t, "POST", "/v1/agents/sched/schedules", { cron: "@daily", run: job })).json;
    const b = (await call(t, "POST", "/v1/agents/other/schedules", { cron: "@daily", run: job })).json;
    expect((await call(t, "DELETE", "/v1/agents/sched")).status).toBe(204);
    expect((await call(t, "GET", `/v1/schedules/${a.id}`)).status).toBe(404);
    expect((await call(t, "GET", "/v1/schedules")).json.schedules.map((s: { id: string }) => s.id)).toEqual([b.id]);
    await call(t, "POST", "/v1/agents", { name: "sched" });
    expect((await call(t, "GET", `/v1/schedules/${a.id}`)).status).toBe(404);
    const c = (await call(t, "POST", "/v1/agents/sched/schedules", { cron: "@daily", run: job })).json;
    expect((await call(t, "GET", "/v1/schedules?agent=sched")).json.schedules.map((s: { id: string }) => s.id)).toEqual([c.id]);
  });

  it("lists across agents, filters by agent, and pages with a cursor", async () => {
    const t = await withAgent("a1");
    await call(t, "POST", "/v1/agents", { name: "a2" });
    const ids: string[] = [];
    for (const agent of ["a1", "a2", "a1", "a2", "a1"]) ids.push((await call(t, "POST", `/v1/agents/${agent}/schedules`, { cron: "@daily", run: job })).json.id);
    const page1 = (await call(t, "GET", "/v1/schedules?limit=2")).json;
    const page2 = (await call(t, "GET", `/v1/schedules?limit=2&cursor=${page1.next_cursor}`)).json;
    const page3 = (await call(t, "GET", `/v1/schedules?limit=2&cursor=${page2.next_cursor}`)).json;
    const seen = [...page1.schedules, ...page2.schedules, ...page3.schedules].map((s: { id: string }) => s.id);
    expect(seen.sort()).toEqual([...ids].sort());
    expect(page3.next_cursor).toBeNull();
    const a2 = (await call(t, "GET", "/v1/schedules?agent=a2")).json.schedules;
    expect(a2.map((s: { agent: string }) => s.agent)).toEqual(["a2", "a2"]);
  });

  it("keeps workspaces apart: another workspace's schedule is 404 and absent from its list", async () => {
    const t = await withAgent();
    const other = await workspaceToken(freshWorkspace());
    await call(other, "POST", "/v1/agents", { name: "sched" });
    const s = (await call(t, "POST", "/v1/agents/sched/schedules", { cron: "@daily", run: job })).json;
    expect((await call(other, "GET", `/v1/schedules/${s.id}`)).status).toBe(404);
    expect((await call(other, "PATCH", `/v1/schedules/${s.id}`, { enabled: false })).status).toBe(404);
    expect((await call(other, "POST", `/v1/schedules/${s.id}/trigger`)).status).toBe(404);
    expect((await call(other, "DELETE", `/v1/schedules/${s.id}`)).status).toBe(404);
    expect((await call(other, "GET", "/v1/schedules")).json.schedules).toEqual([]);
    expect((await call(t, "GET", `/v1/schedules/${s.id}`)).json.enabled).toBe(true);
  });

  it("trigger runs it now, recorded on the run and the schedule", async () => {
    const t = await withAgent();
    const s = (await call(t, "POST", "/v1/agents/sched/schedules", { cron: "@yearly", run: job, enabled: false })).json;
    const r = await call(t, "POST", `/v1/schedules/${s.id}/trigger`);
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ status: "queued", schedule_id: s.id, argv: ["echo", "hi"] });
    expect(r.json.scheduled_for).toEqual(expect.any(String));
    const after = (await call(t, "GET", `/v1/schedules/${s.id}`)).json;
    expect(after).toMatchObject({ last_run_id: r.json.id, last_status: "queued", fires: 1 });
    const events = (await call(t, "GET", `/v1/schedules/${s.id}/events`)).json.events;
    expect(events).toEqual([expect.objectContaining({ type: "fired", run_id: r.json.id, trigger: true, slot: null })]);
    await call(t, "POST", `/v1/runs/${r.json.id}/cancel`);
  });

  it("previews the next fire times in the schedule's zone", async () => {
    const t = await withAgent();
    const s = (await call(t, "POST", "/v1/agents/sched/schedules", { cron: "30 2 * * *", timezone: "America/New_York", run: job })).json;
    const r = await call(t, "GET", `/v1/schedules/${s.id}/preview?count=3&from=2027-03-13T00:00:00Z`);
    expect(r.status).toBe(200);
    // 02:30 does not exist on 14 March 2027 in New York: it fires once, at 03:00 EDT.
    expect(r.json.times).toEqual(["2027-03-13T07:30:00.000Z", "2027-03-14T07:00:00.000Z", "2027-03-15T06:30:00.000Z"]);
    const many = await call(t, "GET", `/v1/schedules/${s.id}/preview?count=1000`);
    expect(many.json.times).toHaveLength(1000);
    const first = new Date(many.json.times[0]).getTime();
    expect(first).toBeGreaterThan(Date.now() - 1000);
    const dflt = await call(t, "GET", `/v1/schedules/${s.id}/preview`);
    expect(dflt.json.times).toHaveLength(10);
  });
});

describe("schedules: bad input is a 4xx that says what is wrong and changes nothing", () => {
  const bad: [string, unknown, RegExp][] = [
    ["an invalid cron value", { cron: "61 * * * *", run: job }, /minute/],
    ["a cron with too few fields", { cron: "* * *", run: job }, /cron/],
    ["a 7-field cron", { cron: "0 0 0 * * * 2030", run: job }, /cron/],
    ["an unknown macro", { cron: "@fortnightly", run: job }, /cron/],
    ["an unknown time zone", { cron: "@daily", timezone: "Mars/Olympus_Mons", run: job }, /time zone/],
    ["a time zone that is not a name", { cron: "@daily", timezone: "Europe/Berlin; DROP", run: job }, /time zone/],
    ["an unknown field", { cron: "@daily", run: job, every: "day" }, /every/],
    ["an unknown field in the run", { cron: "@daily", run: { ...job, agent: "x" } }, /agent/],
    ["an empty argv", { cron: "@daily", run: { argv: [] } }, /argv/],
    ["no run", { cron: "@daily" }, /run/],
    ["a bad overlap", { cron: "@daily", run: job, overlap: "sometimes" }, /overlap/],
    ["a bad misfire", { cron: "@daily", run: job, misfire: "twice" }, /misfire/],
    ["a cron that never fires", { cron: "0 0 30 2 *", run: job }, /no date/],
    ["a cron too long", { cron: `${"1,".repeat(200)}1 * * * *`, run: job }, /cron/],
  ];
  for (const [what, body, detail] of bad) {
    it(`refuses ${what}`, async () => {
      const t = await withAgent();
      const r = await call(t, "POST", "/v1/agents/sched/schedules", body);
      expect(r.status).toBe(400);
      expect(r.type).toContain("application/problem+json");
      expect(r.json.detail).toMatch(detail);
      expect((await call(t, "GET", "/v1/schedules")).json.schedules).toEqual([]);
    });
  }

  it("refuses a run too large to keep", async () => {
    const t = await withAgent();
    const big = { cron: "@daily", run: { argv: Array.from({ length: 13 }, () => "x".repeat(120 * 1024)) } };
    const r = await call(t, "POST", "/v1/agents/sched/schedules", big);
    expect(r.status).toBe(400);
    expect(r.json.detail).toMatch(/at most 1572864 bytes/);
  });

  it(`refuses a schedule past ${SCHEDULES_PER_AGENT} on one agent with 409`, async () => {
    const ws = freshWorkspace();
    const t = await workspaceToken(ws);
    await call(t, "POST", "/v1/agents", { name: "full" });
    const one = (await call(t, "POST", "/v1/agents/full/schedules", { cron: "@daily", run: job })).json;
    // The rest are copies made in place; filling the agent through the API would take long.
    await runInDurableObject(agentStub(ENV, ws, "full"), (_o, state) => {
      for (let i = 1; i < SCHEDULES_PER_AGENT; i++) {
        state.storage.sql.exec("INSERT INTO schedules SELECT ? || substr(id, 5), cron, timezone, run, 0, overlap, misfire, created_at, updated_at, cursor, next_run_at, pending_slot, last_run_id, last_run_at, last_status, fires, skips, misfires, version FROM schedules WHERE id = ?", `sch_copy${i}`, one.id);
      }
    });
    const r = await call(t, "POST", "/v1/agents/full/schedules", { cron: "@daily", run: job });
    expect(r.status).toBe(409);
    expect(r.json.detail).toContain(`${SCHEDULES_PER_AGENT}`);
    expect((await call(t, "DELETE", `/v1/schedules/${one.id}`)).status).toBe(204);
    expect((await call(t, "POST", "/v1/agents/full/schedules", { cron: "@daily", run: job })).status).toBe(201);
  });

  it("refuses a bad PATCH and leaves the schedule as it was", async () => {
    const t = await withAgent();
    const s = (await call(t, "POST", "/v1/agents/sched/schedules", { cron: "@daily", run: job })).json;
    for (const body of [{}, { cron: "nope" }, { timezone: "Nowhere/Land" }, { enabled: "yes" }, { id: "sch_x" }, { run: { argv: [] } }]) {
      const r = await call(t, "PATCH", `/v1/schedules/${s.id}`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.detail.length).toBeGreaterThan(10);
    }
    expect((await call(t, "GET", `/v1/schedules/${s.id}`)).json).toEqual(s);
  });

  it("tells a malformed schedule id (400) from an unknown one (404)", async () => {
    const t = await withAgent();
    expect((await call(t, "GET", "/v1/schedules/nope")).status).toBe(400);
    expect((await call(t, "GET", "/v1/schedules/sch_0123_sched")).status).toBe(400);
    expect((await call(t, "GET", `/v1/schedules/sch_${"0".repeat(20)}_Bad_Agent`)).status).toBe(400);
    expect((await call(t, "GET", `/v1/schedules/sch_${"0".repeat(20)}_sched`)).status).toBe(404);
    expect((await call(t, "GET", `/v1/schedules/sch_${"0".repeat(20)}_no-such-agent`)).status).toBe(404);
    expect((await call(t, "POST", `/v1/schedules/sch_${"0".repeat(20)}_sched/trigger`)).status).toBe(404);
    expect((await call(t, "GET", `/v1/schedules/sch_${"0".repeat(20)}_sched/preview`)).status).toBe(404);
  });

  it("refuses bad list and preview queries", async () => {
    const t = await withAgent();
    const s = (await call(t, "POST", "/v1/agents/sched/schedules", { cron: "@daily", run: job })).json;
    for (const q of ["limit=0", "limit=501", "agent=Bad_Name", "cursor=x", "page=2"]) expect((await call(t, "GET", `/v1/schedules?${q}`)).status, q).toBe(400);
    for (const q of ["count=0", "count=1001", "count=many", "from=yesterday", "from=2027-01-01", "extra=1"]) {
      const r = await call(t, "GET", `/v1/schedules/${s.id}/preview?${q}`);
      expect(r.status, q).toBe(400);
    }
  });

  it("404s a schedule for an agent that does not exist, and creates nothing", async () => {
    const t = await workspaceToken(freshWorkspace());
    const r = await call(t, "POST", "/v1/agents/ghost/schedules", { cron: "@daily", run: job });
    expect(r.status).toBe(404);
    expect(r.json.detail).toContain("ghost");
    expect((await call(t, "GET", "/v1/schedules")).json.schedules).toEqual([]);
  });

  it("needs the schedules scopes, and runs:write to make runs", async () => {
    const ws = freshWorkspace();
    const admin = await workspaceToken(ws);
    await call(admin, "POST", "/v1/agents", { name: "sched" });
    const s = (await call(admin, "POST", "/v1/agents/sched/schedules", { cron: "@daily", run: job })).json;
    const reader = await workspaceToken(ws, ["schedules:read"]);
    expect((await call(reader, "GET", `/v1/schedules/${s.id}`)).status).toBe(200);
    expect((await call(reader, "GET", "/v1/schedules")).status).toBe(200);
    const denied = await call(reader, "PATCH", `/v1/schedules/${s.id}`, { enabled: false });
    expect(denied.status).toBe(403);
    expect(denied.json.detail).toContain("schedules:write");
    const noRuns = await workspaceToken(ws, ["schedules:write", "schedules:read"]);
    const r = await call(noRuns, "POST", `/v1/schedules/${s.id}/trigger`);
    expect(r.status).toBe(403);
    expect(r.json.detail).toContain("runs:write");
    expect((await call(noRuns, "DELETE", `/v1/schedules/${s.id}`)).status).toBe(204);
    const runsOnly = await workspaceToken(ws, ["runs:read", "runs:write"]);
    expect((await call(runsOnly, "GET", "/v1/schedules")).status).toBe(403);
  });
});
