import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";
import { connectHost, enroll, timeTravel } from "./hosts.js";

const E = env as unknown as Env;

async function setUp(config: Record<string, unknown> = {}) {
  const ws = freshWorkspace();
  const t = await workspaceToken(ws);
  const created = (await call(t, "POST", "/v1/agents", { name: "lease", config })).json;
  const host = await enroll("lease", created.host_token, "h1");
  const run = (await call(t, "POST", "/v1/agents/lease/runs", { argv: ["sleep", "1000"], timeout_ms: 1000 })).json;
  expect(await host.sock.next()).toMatchObject({ type: "assign", run_id: run.id, attempt: 1 });
  return { ws, t, host, run, enrollToken: created.host_token as string };
}

describe("leases driven by the alarm", () => {
  it("an alarm before the TTL is up keeps the lease; one after it, with the host gone, loses it and retries", async () => {
    const { ws, t, host, run } = await setUp();
    const stub = E.AGENT.get(E.AGENT.idFromName(`${ws}:lease`));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await call(t, "GET", "/v1/agents/lease")).json.running).toBe(1);
    host.sock.sock.close(1000);
    await call(t, "GET", "/v1/agents/lease"); // let the close land
    await timeTravel(ws, "lease", ["lease"]);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // Lost, and retried by the policy even with no other host connected: the run waits for one.
    const lost = (await call(t, "GET", `/v1/runs/${run.id}`)).json;
    expect(lost).toMatchObject({ status: "queued", attempt: 1 });
    expect(lost.error).toMatch(/^lost: host h1 /);
    expect((await call(t, "GET", "/v1/agents/lease")).json).toMatchObject({ running: 0, queued: 1 });
    // Running the same alarm again changes nothing.
    await runDurableObjectAlarm(stub);
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json.status).toBe("queued");
  });

  it("a run whose policy does not retry a lost attempt ends orphaned", async () => {
    const { ws, t, host, run } = await setUp({ retry: { max_attempts: 1 } });
    host.sock.sock.close(1000);
    await call(t, "GET", "/v1/agents/lease");
    const stub = await timeTravel(ws, "lease", ["lease"]);
    await runDurableObjectAlarm(stub);
    expect((await call(t, "GET", `/v1/runs/${run.id}`)).json).toMatchObject({ status: "orphaned" });
  });

  it("the edge ends a run whose host never reports, at the deadline, and tells the host to stop", async () => {
    const { ws, t, host, run } = await setUp();
    const stub = await timeTravel(ws, "lease", ["deadline"]);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const ended = (await call(t, "GET", `/v1/runs/${run.id}`)).json;
    expect(ended.status).toBe("timed_out");
    expect(ended.error).toMatch(/deadline/);
    expect(await host.sock.next()).toMatchObject({ type: "revoke", run_id: run.id, attempt: 1 });
  });

  it("a host that reconnects with its credential keeps its leases; another host reporting them is told to stop", async () => {
    const { t, host, run, enrollToken } = await setUp();
    host.sock.sock.close(1000);
    const again = await connectHost("lease", host.credential, "h1", { running: [{ run_id: run.id, attempt: 1 }] });
    expect((await again.next()).type).toBe("welcome");
    const other = await enroll("lease", enrollToken, "h2", { running: [{ run_id: run.id, attempt: 1 }] });
    expect(await other.sock.next()).toMatchObject({ type: "revoke", run_id: run.id, attempt: 1 });
    expect((await call(t, "GET", "/v1/agents/lease")).json.running).toBe(1);
  });
});
