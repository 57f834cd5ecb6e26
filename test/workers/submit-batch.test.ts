/**
 * Many submits in one call: each decided as a lone submit would be, in order, answered on its
 * own; a body that fails its schema changes nothing.
 */
import { describe, expect, it } from "vitest";
import { call, tokenFor, workspaceToken } from "./helpers.js";
import { enroll } from "./hosts.js";
import { newAgent, type Agent } from "./index-helpers.js";

type Result = { created: boolean; run: { id: string; status: string; parent_run_id: string | null } } | { problem: { status: number; type: string; detail: string; retry_after_s?: number; existing_run_id?: string } };

const batch = (a: Agent, runs: unknown[], token = a.t) => call(token, "POST", `/v1/agents/${a.name}/runs/batch`, { runs });
const queued = async (a: Agent) => (await call(a.t, "GET", `/v1/agents/${a.name}`)).json.queued as number;
const results = async (a: Agent, runs: unknown[], token = a.t): Promise<Result[]> => {
  const r = await batch(a, runs, token);
  expect(r.status, r.text).toBe(200);
  return r.json.results;
};
const made = (r: Result) => {
  if (!("run" in r)) throw new Error(`refused: ${r.problem.detail}`);
  return r.run;
};

describe("POST /v1/agents/:agent/runs/batch", () => {
  it("makes every run, in the order sent, and a host with room gets them at once", async () => {
    const a = await newAgent("many");
    const out = await results(a, [{ argv: ["echo", "1"] }, { argv: ["echo", "2"], priority: "high" }, { argv: ["echo", "3"] }]);
    expect(out.map((r) => "created" in r && r.created)).toEqual([true, true, true]);
    const ids = out.map((r) => made(r).id);
    expect(new Set(ids).size).toBe(3);
    for (const [i, id] of ids.entries()) expect((await call(a.t, "GET", `/v1/runs/${id}`)).json).toMatchObject({ status: "queued", argv: ["echo", String(i + 1)] });
    expect(await queued(a)).toBe(3);

    const h = await enroll(a.name, a.enrollToken, "h", { slots: 2 });
    const taken = [(await h.sock.next()).run_id, (await h.sock.next()).run_id];
    // The priority each run was sent with holds as it would for lone submits.
    expect(taken).toEqual([ids[1], ids[0]]);
    const more = await results(a, [{ argv: ["true"] }]);
    expect(made(more[0]!).status).toBe("queued");
    h.sock.sock.close(1000);
  });

  it("answers a run made again by its idempotency key, in a batch sent again or twice in one", async () => {
    const a = await newAgent("again");
    const runs = [{ argv: ["true"], idempotency_key: "k1" }, { argv: ["true"], idempotency_key: "k2" }, { argv: ["false"], idempotency_key: "k1" }];
    const first = await results(a, runs);
    expect(first.map((r) => "created" in r && r.created)).toEqual([true, true, false]);
    expect(made(first[2]!).id).toBe(made(first[0]!).id);
    const second = await results(a, runs);
    expect(second.map((r) => "created" in r && r.created)).toEqual([false, false, false]);
    expect(second.map((r) => made(r).id)).toEqual(first.map((r) => made(r).id));
    expect(await queued(a)).toBe(2);
  });

  it("refuses one submit as a lone submit would be, and makes the others", async () => {
    const a = await newAgent("partly");
    expect((await call(a.t, "PATCH", `/v1/agents/${a.name}`, { config: { max_queued: 3 } })).status).toBe(200);
    const out = await results(a, [{ argv: ["true"], dedup_key: "d" }, { argv: ["true"], dedup_key: "d" }, { argv: ["true"] }, { argv: ["true"] }, { argv: ["true"] }]);
    const first = made(out[0]!);
    expect(out[1]).toMatchObject({ problem: { status: 409, type: "urn:tether:problem:duplicate", existing_run_id: first.id } });
    expect("run" in out[2]! && "run" in out[3]!).toBe(true);
    // The queue holds 3, its max_queued: the fifth submit finds it full.
    expect(out[4]).toMatchObject({ problem: { status: 429, type: "urn:tether:problem:queue-full", retry_after_s: 5 } });
    expect(await queued(a)).toBe(3);
  });

  it("changes nothing when one submit fails its schema, and says which", async () => {
    const a = await newAgent("strict");
    const r = await batch(a, [{ argv: ["true"] }, { argv: [] }, { argv: ["true"], nope: 1 }]);
    expect(r.status).toBe(400);
    expect(r.type).toMatch(/problem\+json/);
    expect(JSON.stringify(r.json.errors)).toMatch(/runs\.1\.argv/);
    expect(JSON.stringify(r.json.errors)).toMatch(/runs\.2/);
    expect((await batch(a, [])).status).toBe(400);
    const tooMany = await batch(a, Array.from({ length: 101 }, () => ({ argv: ["true"] })));
    expect(tooMany.status).toBe(400);
    expect(tooMany.text).toMatch(/100/);
    expect((await call(a.t, "POST", `/v1/agents/${a.name}/runs/batch`, [{ argv: ["true"] }])).status).toBe(400);
    expect(await queued(a)).toBe(0);
    expect((await call(a.t, "POST", "/v1/agents/nobody/runs/batch", { runs: [{ argv: ["true"] }] })).status).toBe(404);
  });

  it("needs runs:write; a job's token submits children of its own run, to its own agent, within their limit", async () => {
    const a = await newAgent("kids");
    const reader = await workspaceToken(a.ws, ["runs:read"]);
    expect((await batch(a, [{ argv: ["true"] }], reader)).status).toBe(403);
    const parent = made((await results(a, [{ argv: ["true"] }]))[0]!).id;
    const job = await tokenFor({ kind: "job", ws: a.ws, agent: a.name, run: parent, attempt: 1 });
    const other = await newAgent("other", a.ws);
    expect((await batch(other, [{ argv: ["true"] }], job)).status).toBe(403);
    const kids = await results(a, Array.from({ length: 100 }, () => ({ argv: ["true"] })), job);
    expect(kids.every((r) => "run" in r && r.run.parent_run_id === parent)).toBe(true);
    const past = await results(a, [{ argv: ["true"] }], job);
    expect(past[0]).toMatchObject({ problem: { status: 429, type: "urn:tether:problem:too-many-children" } });
    expect(await queued(a)).toBe(101);
  });
});
