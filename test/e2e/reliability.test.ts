import { createHash, randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { WatchEvent } from "../../src/client/sdk.js";
import { attemptPid, collect, groupMembers, outputOf, startStack, waitFor, type Stack } from "./harness.js";
import { cutProxy } from "./proxy.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const eventTypes = (events: WatchEvent[]) => events.flatMap((e) => (e.type === "event" ? [e.event.type] : []));

let s: Stack | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

describe("a host that dies", () => {
  it("is detected by its lease, and the run is retried on another host and succeeds", async () => {
    s = await startStack({ agentConfig: { lease_ttl_ms: 1500 } });
    const run = await s.client.submit(s.agent, {
      argv: ["sh", "-c", 'echo "attempt $TETHER_ATTEMPT"; if [ "$TETHER_ATTEMPT" = 1 ]; then exec sleep 1000; fi'],
    });
    const pid = await attemptPid(s.client, run.id);
    s.strays.push(pid);
    await s.addHost();
    s.hosts[0]!.child.kill("SIGKILL");
    const { events, run: end } = await collect(s.client, run.id);
    expect(end).toMatchObject({ status: "succeeded", attempt: 2 });
    expect(eventTypes(events)).toEqual(expect.arrayContaining(["attempt_started", "lease_lost", "retry_scheduled"]));
    expect(Buffer.from(await s.client.output(run.id, { attempt: 1 })).toString()).toBe("attempt 1\n");
    expect(Buffer.from(await s.client.output(run.id)).toString()).toBe("attempt 2\n");
  });

  it("with no attempt left in its policy, ends orphaned once the lease TTL has passed", async () => {
    s = await startStack({ agentConfig: { lease_ttl_ms: 1500, retry: { max_attempts: 1 } } });
    const run = await s.client.submit(s.agent, { argv: ["sleep", "1000"] });
    s.strays.push(await attemptPid(s.client, run.id));
    s.hosts[0]!.child.kill("SIGKILL");
    const end = await s.client.wait(run.id);
    expect(end.status).toBe("orphaned");
    expect(end.error).toMatch(/^lost: host .* has been gone/);
  });

  it("with attempts left, waits for a host, and the same host back gets the retry", async () => {
    s = await startStack({ agentConfig: { lease_ttl_ms: 1500, retry: { delay_ms: 0 } } });
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", 'if [ "$TETHER_ATTEMPT" = 1 ]; then exec sleep 1000; fi; echo second']});
    s.strays.push(await attemptPid(s.client, run.id));
    s.hosts[0]!.child.kill("SIGKILL");
    await s.addHost();
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded", attempt: 2 });
  });

  it("takes its jobs' process groups down with it when killed with SIGKILL, so no retry runs beside them", async () => {
    s = await startStack({ agentConfig: { lease_ttl_ms: 1500, retry: { max_attempts: 1 } } });
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "sleep 1000 & sleep 1000"] });
    const pid = await attemptPid(s.client, run.id);
    s.strays.push(pid);
    await waitFor("the job and its child", () => groupMembers(pid, { live: true }) >= 2);
    s.hosts[0]!.child.kill("SIGKILL");
    await waitFor("the dead host's job group to be gone", () => groupMembers(pid, { live: true }) === 0);
    expect((await s.client.wait(run.id)).status).toBe("orphaned");
  });

  it("cancel is final even when the host is gone", async () => {
    s = await startStack({ agentConfig: { lease_ttl_ms: 1500 } });
    const run = await s.client.submit(s.agent, { argv: ["sleep", "1000"] });
    s.strays.push(await attemptPid(s.client, run.id));
    s.hosts[0]!.child.kill("SIGKILL");
    await s.client.cancel(run.id);
    expect((await s.client.wait(run.id)).status).toBe("cancelled");
  });
});

describe("a partition", () => {
  // The smallest lease TTL an agent may have, and the default.
  it.each([1000, 15_000])("at a lease TTL of %i ms, a host cut off stops its job before the edge retries it elsewhere: never two at once, no byte lost", async (ttl) => {
    s = await startStack({ hosts: 0, agentConfig: { lease_ttl_ms: ttl, retry: { delay_ms: 0 } } });
    const proxy = await cutProxy(s.url);
    try {
      await s.addHost({ url: proxy.url });
      const run = await s.client.submit(s.agent, {
        argv: ["sh", "-c", 'echo "attempt $TETHER_ATTEMPT"; if [ "$TETHER_ATTEMPT" = 1 ]; then exec sleep 1000; fi'],
      });
      const pid = await attemptPid(s.client, run.id);
      await s.addHost();
      const cutAt = Date.now();
      proxy.stall(true);
      await waitFor("the cut-off host to stop its own job", () => groupMembers(pid, { live: true }) === 0, 30_000);
      const deadAt = Date.now();
      let assignedAt = 0;
      for await (const ev of s.client.watch(run.id, { output: false })) {
        if (ev.type === "event" && ev.event.type === "attempt_started" && ev.event.attempt === 2) {
          assignedAt = Date.parse(ev.event.at as string);
          break;
        }
      }
      // At no moment two live process groups for the run: the first was gone (seen by polling, so
      // even earlier) before the edge gave the second attempt to the other host.
      expect(deadAt).toBeLessThan(assignedAt);
      console.log(`partition at TTL ${ttl} ms: the cut-off job was dead ${deadAt - cutAt} ms after the cut, ${assignedAt - deadAt} ms before the retry was assigned`);
      const end = await s.client.wait(run.id);
      expect(end).toMatchObject({ status: "succeeded", attempt: 2 });
      proxy.stall(false);
      // Back, the first host delivers what it still held and reports the attempt it stopped; the run stands.
      await waitFor("the first attempt's output", async () => Buffer.from(await s!.client.output(run.id, { attempt: 1 })).toString() === "attempt 1\n");
      expect(Buffer.from(await s.client.output(run.id)).toString()).toBe("attempt 2\n");
      expect((await s.client.get(run.id)).status).toBe("succeeded");
    } finally {
      await proxy.close();
    }
  });
});

describe("dropped connections", () => {
  it("lose and double no byte of 20 MB across 50 drops of the host's sockets", async () => {
    s = await startStack({ hosts: 0 });
    const proxy = await cutProxy(s.url);
    try {
      await s.addHost({ url: proxy.url });
      const file = join(s.dir, "20mb.bin");
      const bytes = randomBytes(100 * 204_800);
      writeFileSync(file, bytes);
      const run = await s.client.submit(s.agent, {
        argv: ["sh", "-c", `i=0; while [ $i -lt 100 ]; do dd if="${file}" bs=204800 skip=$i count=1 status=none; i=$((i+1)); sleep 0.01; done`],
      });
      const ended = s.client.wait(run.id);
      let done = false;
      void ended.then(() => (done = true));
      while (proxy.cuts < 50 && !done) {
        await Promise.race([proxy.waitBytes(300_000), ended]);
        if (!done) proxy.cut();
      }
      expect(proxy.cuts).toBeGreaterThanOrEqual(50);
      expect((await ended).status).toBe("succeeded");
      const stored = await s.client.output(run.id, { stream: "stdout" });
      expect(stored.byteLength).toBe(bytes.byteLength);
      expect(sha(stored)).toBe(sha(bytes));
    } finally {
      await proxy.close();
    }
  });

  it("a restart of the control plane mid-run loses nothing", async () => {
    s = await startStack({ restartable: true });
    const go = join(s.dir, "go");
    const run = await s.client.submit(s.agent, {
      argv: ["sh", "-c", `i=1; while [ $i -le 50 ]; do echo "line $i"; i=$((i+1)); sleep 0.01; done; while [ ! -f "${go}" ]; do sleep 0.02; done; echo after-restart`],
    });
    const { events } = await (async () => {
      const seen: WatchEvent[] = [];
      for await (const ev of s!.client.watch(run.id)) {
        seen.push(ev);
        if (ev.type === "output") break;
      }
      return { events: seen };
    })();
    expect(events.length).toBeGreaterThan(0);
    await s.restartPlane();
    writeFileSync(go, "");
    const end = await s.client.wait(run.id);
    expect(end.status).toBe("succeeded");
    const expected = Array.from({ length: 50 }, (_, i) => `line ${i + 1}\n`).join("") + "after-restart\n";
    expect(Buffer.from(await s.client.output(run.id)).toString()).toBe(expected);
    const all = await collect(s.client, run.id);
    expect(outputOf(all.events, "stdout").toString()).toBe(expected);
  });
});

describe("timeouts", () => {
  it("kill the whole process tree and end the run timed_out", async () => {
    s = await startStack({ graceMs: 500 });
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "sleep 1000 & sleep 1000"], timeout_ms: 300 });
    const pid = await attemptPid(s.client, run.id);
    const end = await s.client.wait(run.id);
    expect(end.status).toBe("timed_out");
    expect(groupMembers(pid, { live: true })).toBe(0);
  });

  it("a run that waits in the queue past queue_timeout_ms ends cancelled with the reason", async () => {
    s = await startStack({ hosts: 0 });
    const run = await s.client.submit(s.agent, { argv: ["true"], queue_timeout_ms: 200 });
    const end = await s.client.wait(run.id);
    expect(end.status).toBe("cancelled");
    expect(end.error).toMatch(/queue_timeout_ms/);
    expect((await s.client.getAgent(s.agent)).queued).toBe(0);
  });
});

describe("host shutdown", () => {
  it("SIGTERM drains: running jobs finish, nothing new is taken, then the host exits", async () => {
    s = await startStack();
    const go = join(s.dir, "go-drain");
    const first = await s.client.submit(s.agent, { argv: ["sh", "-c", `while [ ! -f "${go}" ]; do sleep 0.02; done; echo finished`] });
    await attemptPid(s.client, first.id);
    const host = s.hosts[0]!;
    host.child.kill("SIGTERM");
    await waitFor("the host to drain", async () => (await s!.client.getAgent(s!.agent)).hosts[0]?.draining);
    const second = await s.client.submit(s.agent, { argv: ["echo", "later"] });
    expect((await s.client.getAgent(s.agent)).queued).toBe(1);
    writeFileSync(go, "");
    expect(await s.client.wait(first.id)).toMatchObject({ status: "succeeded" });
    expect(await host.stop()).toBe(0);
    expect((await s.client.get(second.id)).status).toBe("queued");
    expect(existsSync(go)).toBe(true);
  });

  it("a second SIGTERM cancels running jobs with agent_stop, and the host exits at once", async () => {
    s = await startStack({ agentConfig: { retry: { max_attempts: 1 } } });
    const run = await s.client.submit(s.agent, { argv: ["sleep", "1000"] });
    const pid = await attemptPid(s.client, run.id);
    const host = s.hosts[0]!;
    host.child.kill("SIGTERM");
    await waitFor("the host to drain", async () => (await s!.client.getAgent(s!.agent)).hosts[0]?.draining);
    host.child.kill("SIGTERM");
    expect(await host.stop()).toBe(0);
    const { events, run: end } = await collect(s.client, run.id);
    expect(end.status).toBe("cancelled");
    expect(end.error).toMatch(/agent_stop/);
    expect(events.some((e) => e.type === "event" && e.event.type === "attempt_ended" && e.event.reason === "agent_stop")).toBe(true);
    expect(groupMembers(pid, { live: true })).toBe(0);
    // A clean exit released the lease at once: nothing is left running at the agent.
    expect((await s.client.getAgent(s.agent)).running).toBe(0);
  });
});

describe("retry policy", () => {
  it("retries a failed command when asked, with a fresh attempt each time", async () => {
    s = await startStack();
    const flag = join(s.dir, "second-try");
    const run = await s.client.submit(s.agent, {
      argv: ["sh", "-c", `if [ -f "${flag}" ]; then echo ok; else touch "${flag}"; echo fail >&2; exit 7; fi`],
      retry: { max_attempts: 3, on: ["failed"], delay_ms: 50 },
    });
    const { events, run: end } = await collect(s.client, run.id);
    expect(end).toMatchObject({ status: "succeeded", attempt: 2, exit_code: 0 });
    const retry = events.find((e) => e.type === "event" && e.event.type === "retry_scheduled");
    expect(retry?.type === "event" && retry.event).toMatchObject({ attempt: 2, reason: "failed", delay_ms: 50 });
    expect(Buffer.from(await s.client.output(run.id, { attempt: 1, stream: "stderr" })).toString()).toBe("fail\n");
  });
});
