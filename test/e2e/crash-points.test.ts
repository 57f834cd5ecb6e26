/**
 * The control plane killed outright (SIGKILL of workerd) at each step of a run's life, then
 * started again on the same state: every run reaches its true final state, and none runs twice.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { WatchEvent } from "../../src/client/sdk.js";
import { startControlPlane } from "../../src/local/stack.js";
import { attemptPid, collect, startStack, workerdProcesses, type Stack } from "./harness.js";

let s: Stack | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

/** SIGKILLs the workerd processes serving the stack, as a crash or a power cut would, and starts the plane again. */
async function crashAndRestart(stack: Stack): Promise<void> {
  const victims = workerdProcesses();
  expect(victims.length).toBeGreaterThan(0);
  for (const pid of victims) process.kill(pid, "SIGKILL");
  await Promise.race([stack.plane.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
  stack.plane = await startControlPlane({ persistDir: join(stack.dir, "state"), signingKey: stack.key, port: Number(new URL(stack.plane.url).port) });
}

const started = (events: WatchEvent[]) => events.filter((e) => e.type === "event" && e.event.type === "process_started").length;

describe("a crash of the control plane", () => {
  it("after a submit, before any host took it: the run starts once when a host comes", async () => {
    s = await startStack({ restartable: true, hosts: 0 });
    const run = await s.client.submit(s.agent, { argv: ["echo", "once"] });
    await crashAndRestart(s);
    await s.addHost();
    const { run: end, events } = await collect(s.client, run.id);
    expect(end).toMatchObject({ status: "succeeded", attempt: 1 });
    expect(started(events)).toBe(1);
    expect(Buffer.from(await s.client.output(run.id)).toString()).toBe("once\n");
  });

  it("while its host runs it: the run goes on and ends once, with all its output", async () => {
    s = await startStack({ restartable: true });
    const go = join(s.dir, "go");
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", `echo before; while [ ! -f "${go}" ]; do sleep 0.02; done; echo after`] });
    await attemptPid(s.client, run.id);
    await crashAndRestart(s);
    writeFileSync(go, "");
    const { run: end, events } = await collect(s.client, run.id);
    expect(end).toMatchObject({ status: "succeeded", attempt: 1 });
    expect(started(events)).toBe(1);
    expect(Buffer.from(await s.client.output(run.id)).toString()).toBe("before\nafter\n");
  });

  it("right after the run ended: it stays ended, and nothing starts it again", async () => {
    s = await startStack({ restartable: true });
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "echo done; exit 4"] });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "failed", exit_code: 4 });
    await crashAndRestart(s);
    // A host with free slots is connected again: anything left queued would start now.
    await s.addHost();
    const next = await s.client.submit(s.agent, { argv: ["true"] });
    await s.client.wait(next.id);
    const { run: end, events } = await collect(s.client, run.id);
    expect(end).toMatchObject({ status: "failed", exit_code: 4, attempt: 1 });
    expect(started(events)).toBe(1);
  });
});
