import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";
import { openSocket } from "./sockets.js";

const E = env as unknown as Env;

/** A host's control socket, with a host token. */
const hostSocket = (agent: string, hostToken: string) => openSocket(`/v1/agents/${agent}/connect`, hostToken);

/** Moves every timer and lease into the past, as if the TTL or deadline had long gone by. */
async function timeTravel(ws: string, agent: string, kinds: string[]) {
  const stub = E.AGENT.get(E.AGENT.idFromName(`${ws}:${agent}`));
  await runInDurableObject(stub, (_o, state) => {
    state.storage.sql.exec("UPDATE leases SET renewed_at = 0, missing_since = CASE WHEN missing_since IS NULL THEN NULL ELSE 1 END");
    for (const k of kinds) state.storage.sql.exec("UPDATE timers SET due_at = 1 WHERE kind = ?", k);
  });
  return stub;
}

async function setUp(config: Record<string, unknown> = {}) {
  const ws = freshWorkspace();
  const t = await workspaceToken(ws);
  const created = (await call(t, "POST", "/v1/agents", { name: "lease", config })).json;
  const host = await hostSocket("lease", created.host_token);
  host.send({ type: "hello", host_id: "h1", hostname: "box", version: "test", slots: 1, running: [] });
  expect((await host.next()).type).toBe("welcome");
  const run = (await call(t, "POST", "/v1/agents/lease/runs", { argv: ["sleep", "1000"], timeout_ms: 1000 })).json;
  const assign = await host.next();
  expect(assign).toMatchObject({ type: "assign", run_id: run.id, attempt: 1 });
  return { ws, t, host, run };
}

describe("leases driven by the alarm", () => {
  it("an alarm before the TTL is up keeps the lease; one after it, with the host gone, loses it", async () => {
    const { ws, t, host, run } = await setUp();
    const stub = E.AGENT.get(E.AGENT.idFromName(`${ws}:lease`));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await call(t, "GET", "/v1/agents/lease")).json.running).toBe(1);
    host.sock.close(1000);
    await (await call(t, "GET", "/v1/agents/lease")).json; // let the close land
    await timeTravel(ws, "lease", ["lease"]);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const lost = (await call(t, "GET", `/v1/runs/${run.id}`)).json;
    expect(lost.status).toBe("orphaned");
    expect(lost.error).toMatch(/^lost: host h1 /);
    expect((await call(t, "GET", "/v1/agents/lease")).json.running).toBe(0);
    // Running the same alarm again changes nothing.
    await runDurableObjectAlarm(stub);
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("orphaned");
  });

  it("the edge ends a run whose host never reports, at the deadline, and tells the host to stop", async () => {
    const { ws, t, host, run } = await setUp();
    const stub = await timeTravel(ws, "lease", ["deadline"]);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const ended = (await call(t, "GET", `/v1/runs/${run.id}`)).json;
    expect(ended.status).toBe("timed_out");
    expect(ended.error).toMatch(/deadline/);
    expect(await host.next()).toMatchObject({ type: "revoke", run_id: run.id, attempt: 1 });
  });

  it("a host that reconnects keeps the attempts whose leases are its own", async () => {
    const { t, host, run } = await setUp();
    host.sock.close(1000);
    const created = await call(t, "POST", "/v1/agents/lease/host-token", {});
    // A rotated token disconnects; a new connection with the new token reports the attempt it holds.
    const again = await hostSocket("lease", created.json.host_token);
    again.send({ type: "hello", host_id: "h1", hostname: "box", version: "test", slots: 1, running: [{ run_id: run.id, attempt: 1 }] });
    expect((await again.next()).type).toBe("welcome");
    const other = await hostSocket("lease", created.json.host_token);
    other.send({ type: "hello", host_id: "h2", hostname: "box2", version: "test", slots: 1, running: [{ run_id: run.id, attempt: 1 }] });
    expect((await other.next()).type).toBe("welcome");
    expect(await other.next()).toMatchObject({ type: "revoke", run_id: run.id, attempt: 1 });
    expect((await call(t, "GET", "/v1/agents/lease")).json.running).toBe(1);
  });
});
