/** The workspace index end to end: real runs on a real host, found again with `tether ls`. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, startStack, waitFor, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const tether = (...args: string[]) => cli(s, args);

describe("tether ls", () => {
  it("--status failed --label pr=123 finds exactly the failed runs of that PR, after a mix of runs", async () => {
    const mix: { argv: string[]; labels?: Record<string, string> }[] = [
      { argv: ["sh", "-c", "exit 1"], labels: { pr: "123" } },
      { argv: ["true"], labels: { pr: "123" } },
      { argv: ["sh", "-c", "exit 2"], labels: { pr: "124" } },
      { argv: ["sh", "-c", "exit 3"], labels: { pr: "123", os: "linux" } },
      { argv: ["sh", "-c", "exit 4"] },
    ];
    const runs = [];
    for (const job of mix) runs.push(await s.client.submit(s.agent, job));
    for (const r of runs) await s.client.wait(r.id);
    const want = [runs[3]!.id, runs[0]!.id];
    // The index follows the truth within moments; wait for it rather than guess how long.
    await waitFor("the index to hold every run", async () => (await s.client.listRuns({ limit: 200 })).runs.filter((r) => r.status !== "queued" && r.status !== "running").length >= runs.length);
    const r = tether("ls", "--status", "failed", "--label", "pr=123");
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^RUN\s+STATUS\s+EXIT\s+CREATED\s+COMMAND$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(want);
    expect(lines[1]).toMatch(/failed\s+3\s/);
    const json = JSON.parse(tether("ls", "--status", "failed", "--label", "pr=123", "--json").stdout);
    expect(json.runs.map((x: { id: string }) => x.id)).toEqual(want);
    expect(tether("ls", "--status", "done").status).not.toBe(0);

    const status = tether("status", s.agent);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/hosts \(1\):/);
    expect(status.stdout).toMatch(/ended last hour: .*failed 4/);
    expect(tether("agents", "ls").stdout).toContain(s.agent);
  });
});
