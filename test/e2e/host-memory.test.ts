/**
 * tether-agent's memory while a job writes as fast as it can: the buffers its pipes are read
 * into are freed as it goes, not left for V8 to collect once 64 MB of them have piled up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { procFile, startStack, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

/** The process's peak resident memory so far (the kernel's high-water mark), in MB. */
function peakMb(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(procFile(`/proc/${pid}/status`))![1]) / 1024;
}

describe("host memory", () => {
  it("a job writing 300 MB raises its host's peak by little", { timeout: 120_000 }, async () => {
    const pid = s.hosts[0]!.child.pid!;
    const before = peakMb(pid);
    const run = await s.client.submit(s.agent, { argv: ["head", "-c", "300000000", "/dev/zero"] });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded", exit_code: 0 });
    const after = peakMb(pid);
    console.log(`tether-agent peak RSS: ${before.toFixed(0)} MB before, ${after.toFixed(0)} MB after a job wrote 300 MB`);
    // Left to V8, up to 64 MB of read buffers wait for a collection (about 40 MB more at the peak).
    expect(after - before).toBeLessThan(32);
  });
});
