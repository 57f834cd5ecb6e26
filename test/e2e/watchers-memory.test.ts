/**
 * Stalled watchers cost the control plane a bounded amount of memory: each is read as its client
 * pulls, so one that stops reading holds at most about a megabyte, not the run's output.
 */
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, workerdProcesses, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

/** Resident memory of the workerd processes serving this file's stack, in MB. */
function workerdRssMb(): number {
  let kb = 0;
  for (const pid of workerdProcesses()) kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  return kb / 1024;
}

describe("stalled watchers", () => {
  it("20 watchers that stop reading a 200 MB run hold little memory", { timeout: 120_000 }, async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "head -c 200000000 /dev/urandom"] });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded" });
    const before = workerdRssMb();
    const url = new URL(`${s.url}/v1/runs/${run.id}/watch`);
    // Each reads the first bytes, then stops reading: its socket fills and the stream waits on it.
    const stalled = await Promise.all(
      Array.from({ length: 20 }, () =>
        new Promise<ReturnType<typeof request>>((resolve) => {
          const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${s.token}` } }, (res) => {
            res.once("data", () => {
              res.pause();
              resolve(req);
            });
          });
          req.end();
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 3000)); // what can be queued, is by now
    const during = workerdRssMb();
    for (const req of stalled) req.destroy();
    console.log(`workerd RSS: ${before.toFixed(0)} MB before, ${during.toFixed(0)} MB with 20 stalled watchers of a 200 MB run`);
    expect(during - before).toBeLessThan(200);
  });
});
