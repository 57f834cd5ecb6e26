/**
 * Approvals with real tether-agent processes: a host whose policy does not allow a job, and whose
 * owner asks, holds it for a person; approved (through the CLI) it runs, denied or left to
 * expire it never starts. A host that does not ask refuses as before.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/auth/tokens.js";
import { TetherClient, TetherError, type WatchEvent } from "../../src/client/sdk.js";
import { startHostAgent } from "../../src/local/stack.js";
import type { Run } from "../../src/protocol/run.js";
import { cli, startStack, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack({ hosts: 0 });
  await hostFor("asks", ["--security", "allowlist", "--allow", "true", "--sandbox", "off"]);
  const noAsk = join(s.dir, "no-ask.toml");
  writeFileSync(noAsk, 'security = "allowlist"\nallow = ["true"]\nask = "off"\nsandbox = "off"\n');
  await hostFor("strict", ["--policy", noAsk]);
  const always = join(s.dir, "always.toml");
  writeFileSync(always, 'security = "full"\nask = "always"\nsandbox = "off"\n');
  await hostFor("always", ["--policy", always]);
});
afterAll(async () => {
  await s?.stop();
});

async function hostFor(agent: string, policy: string[]): Promise<void> {
  const token = (await s.client.createAgent(agent)).host_token;
  const host = startHostAgent({ url: s.url, hostToken: token, stdio: "pipe", slots: 2, graceMs: 500, policy });
  s.hosts.push(host);
  await host.connected;
}

/** Resolves with the run once its watch stream says it is awaiting approval, with the events seen so far. */
async function awaitingApproval(id: string): Promise<{ run: Run; events: WatchEvent[] }> {
  const events: WatchEvent[] = [];
  for await (const ev of s.client.watch(id, { output: false })) {
    events.push(ev);
    if (ev.type === "state" && ev.run.status === "awaiting_approval") return { run: ev.run, events };
  }
  throw new Error(`the watch of ${id} ended before the run awaited approval`);
}

const tether = (args: string[]) => cli(s, args);

const started = (events: WatchEvent[]) => events.some((e) => e.type === "event" && e.event.type === "process_started");

describe("approvals", () => {
  it("a program the host's allowlist does not name waits for a person, says why, and runs once approved through the CLI", async () => {
    const run = await s.client.submit("asks", { argv: ["sh", "-c", "echo approved-and-ran"] });
    const { run: held, events } = await awaitingApproval(run.id);
    expect(held.approval).toMatchObject({ state: "asked", reason: expect.stringMatching(/sh resolves to .*not on the allowlist/) });
    const asked = events.find((e) => e.type === "event" && e.event.type === "approval_requested");
    expect(asked).toBeDefined();
    expect(started(events)).toBe(false);
    expect((await s.client.getAgent("asks")).awaiting_approval).toBe(1);
    const status = await s.client.agentStatus("asks");
    expect(status.queue).toMatchObject({ depth: 0, awaiting_approval: 1 });
    expect(status.queue.waiting).toContainEqual({ reason: "awaiting approval", runs: 1 });
    expect(tether(["status", "asks"]).stdout).toMatch(/queue: 0 waiting\n  1 awaiting approval\n/);

    const cli = tether(["approve", run.id, "--reason", "checked it"]);
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ id: run.id, approval: { state: "approved", note: "checked it" } });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded", exit_code: 0 });
    expect(Buffer.from(await s.client.output(run.id)).toString()).toBe("approved-and-ran\n");
  });

  it("a denied run ends cancelled and never starts, through the API or the CLI; a second answer is a 409", async () => {
    const viaCli = await s.client.submit("asks", { argv: ["sh", "-c", "echo must-not-run"] });
    await awaitingApproval(viaCli.id);
    const denied = tether(["deny", viaCli.id]);
    expect(denied.status, denied.stderr).toBe(0);
    expect(await s.client.wait(viaCli.id)).toMatchObject({ status: "cancelled", error: "denied", approval: { state: "denied" } });
    const run = await s.client.submit("asks", { argv: ["sh", "-c", "echo must-not-run"] });
    await awaitingApproval(run.id);
    expect(await s.client.deny(run.id, "not today")).toMatchObject({ status: "cancelled", error: "denied: not today", approval: { state: "denied" } });
    const err = await s.client.approve(run.id).catch((e: TetherError) => e);
    expect(err).toBeInstanceOf(TetherError);
    expect((err as TetherError).status).toBe(409);
    const events: WatchEvent[] = [];
    for await (const ev of s.client.watch(run.id)) events.push(ev);
    expect(started(events)).toBe(false);
    expect(events.some((e) => e.type === "output")).toBe(false);
  });

  it("a run no one answers ends cancelled when its approval expires", async () => {
    await s.client.configureAgent("asks", { approval_timeout_ms: 1000 });
    const run = await s.client.submit("asks", { argv: ["sh", "-c", "echo too-late"] });
    await awaitingApproval(run.id);
    expect(await s.client.wait(run.id)).toMatchObject({ status: "cancelled", approval: { state: "expired" } });
    await s.client.configureAgent("asks", { approval_timeout_ms: 3_600_000 });
  });

  it("approving takes the runs:approve scope: runs:write is not enough", async () => {
    const run = await s.client.submit("asks", { argv: ["sh", "-c", "true"] });
    await awaitingApproval(run.id);
    const writer = new TetherClient({ url: s.url, token: await signToken(s.key, { kind: "workspace", ws: "e2e", scopes: ["runs:read", "runs:write"] }) });
    const err = await writer.approve(run.id).catch((e: TetherError) => e);
    expect((err as TetherError).status).toBe(403);
    expect((await s.client.get(run.id)).status).toBe("awaiting_approval");
    await s.client.cancel(run.id);
    expect(await s.client.wait(run.id)).toMatchObject({ status: "cancelled" });
  });

  it("a host whose owner asks always holds even an allowed program until it is approved", async () => {
    const run = await s.client.submit("always", { argv: ["true"] });
    const { run: held } = await awaitingApproval(run.id);
    expect(held.approval?.reason).toMatch(/ask = "always"/);
    await s.client.approve(run.id);
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded", approval: { state: "approved" } });
  });

  it("an allowed program runs without asking, and a host that does not ask refuses what it does not allow", async () => {
    expect(await s.client.wait((await s.client.submit("asks", { argv: ["true"] })).id)).toMatchObject({ status: "succeeded" });
    const refused = await s.client.wait((await s.client.submit("strict", { argv: ["sh", "-c", "true"] })).id);
    expect(refused).toMatchObject({ status: "failed", approval: null, error: expect.stringMatching(/refused by host policy/) });
  });
});
