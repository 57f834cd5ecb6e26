/**
 * The control plane killed outright (SIGKILL of workerd) at each step of a run's life, then
 * started again on the same state: every run reaches its true final state, and none runs twice.
 */
import { existsSync, watch, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nodeFetch } from "../../src/client/node-fetch.js";
import { TetherClient, type WatchEvent } from "../../src/client/sdk.js";
import { startControlPlane } from "../../src/local/stack.js";
import { attemptPid, collect, startStack, workerdProcesses, type Stack } from "./harness.js";

let s: Stack | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

/**
 * SIGKILLs the workerd processes serving the stack, as a crash or a power cut would, and starts
 * the plane again once `down` resolves (at once by default).
 */
async function crashAndRestart(stack: Stack, down: Promise<void> = Promise.resolve()): Promise<void> {
  const victims = workerdProcesses();
  expect(victims.length).toBeGreaterThan(0);
  for (const pid of victims) process.kill(pid, "SIGKILL");
  await Promise.race([stack.plane.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
  await down;
  stack.plane = await startControlPlane({ persistDir: join(stack.dir, "state"), signingKey: stack.key, port: Number(new URL(stack.plane.url).port) });
}

/** Resolves once the job has made `path`. */
function appears(path: string): Promise<void> {
  return new Promise((resolve) => {
    const w = watch(dirname(path), () => existsSync(path) && (w.close(), resolve()));
    if (existsSync(path)) (w.close(), resolve());
  });
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

  it("while the SDK's run() holds its call: the call outlives an outage longer than one request's retries", async () => {
    s = await startStack({ restartable: true });
    const [began, go] = [join(s.dir, "began"), join(s.dir, "go")];
    // The plane stays down until this client has failed more sends than one request makes (5).
    let failed = 0;
    let outageLongEnough = () => {};
    const outage = new Promise<void>((resolve) => (outageLongEnough = resolve));
    const client = new TetherClient({
      url: s.url,
      token: s.token,
      // Short waits, so the outage is soon long enough; enough of them to outlast a slow restart.
      retry: { baseMs: 5, capMs: 2000 },
      fetch: async (input, init) => {
        try {
          return await nodeFetch(input, init);
        } catch (err) {
          if (++failed > 8) outageLongEnough();
          throw err;
        }
      },
    });
    const running = appears(began);
    const call = client.run(s.agent, { argv: ["sh", "-c", `touch "${began}"; while [ ! -f "${go}" ]; do sleep 0.02; done; echo after`] });
    await running;
    // A call that gave up ends the outage too, and fails below.
    await crashAndRestart(s, Promise.race([outage, call.then(() => undefined, () => undefined)]));
    writeFileSync(go, "");
    const end = await call;
    expect(end).toMatchObject({ status: "succeeded", attempt: 1 });
    const { events } = await collect(s.client, end.id);
    expect(started(events)).toBe(1);
    expect(Buffer.from(await s.client.output(end.id)).toString()).toBe("after\n");
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
