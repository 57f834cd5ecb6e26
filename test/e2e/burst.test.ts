/**
 * A burst of API calls on kept-alive connections, as a script that submits a batch of work makes:
 * the hosts must go on being heard meanwhile. Unheard for half the lease TTL, a host stops its
 * jobs as it would in a partition, and they run again.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { attemptPid, startStack, type Stack } from "./harness.js";

let s: Stack | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

describe("a burst of submits", () => {
  it("longer than half the lease TTL, 32 at a time: the running job's host is heard throughout, and the job runs once", async () => {
    // A host unheard for 1 s stops its jobs; the burst lasts several times that.
    s = await startStack({ slots: 1, agentConfig: { lease_ttl_ms: 2000 } });
    const go = join(s.dir, "go");
    const long = await s.client.submit(s.agent, { argv: ["sh", "-c", `while [ ! -f "${go}" ]; do sleep 0.02; done; echo once`] });
    await attemptPid(s.client, long.id);

    // The burst lasts 3 s however fast the machine submits (at most 9,000 runs, under the queue's 10,000).
    const [burstMs, most] = [3000, 9000];
    let sent = 0;
    const t0 = performance.now();
    const client = s.client;
    const agent = s.agent;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (sent < most && performance.now() - t0 < burstMs) {
          sent++;
          await client.submit(agent, { argv: ["true"] });
        }
      }),
    );
    // Not a timing assertion: the burst must outlast the silence a host tolerates, or it tests nothing.
    expect(performance.now() - t0).toBeGreaterThan(1000);

    writeFileSync(go, "");
    expect(await s.client.wait(long.id)).toMatchObject({ status: "succeeded", attempt: 1 });
    expect(Buffer.from(await s.client.output(long.id)).toString()).toBe("once\n");
  });
});
