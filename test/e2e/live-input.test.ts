/** Live input to a running job: in order, each byte once, across dropped connections; and refused where it cannot go. */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot } from "../../src/local/paths.js";
import { COMMAND_MS, startStack, waitFor, type Stack } from "./harness.js";
import { cutProxy } from "./proxy.js";

let s: Stack | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

describe("live input", () => {
  it("reaches the process in order, byte-exact, across 20 dropped connections", async () => {
    s = await startStack({ hosts: 0 });
    const proxy = await cutProxy(s.url);
    try {
      await s.addHost({ url: proxy.url });
      const run = await s.client.submit(s.agent, { argv: ["cat"], stdin: { mode: "pipe" } });
      const sent: Buffer[] = [];
      const states = new Set<string>();
      const latencies: number[] = [];
      for (let i = 0; i < 100; i++) {
        const chunk = Buffer.from(`line ${i} ${"é".repeat(i % 7)}\n`);
        sent.push(chunk);
        const t0 = performance.now();
        const answer = await s.client.input(run.id, i % 2 ? chunk : chunk.toString());
        if (answer.state === "delivered") latencies.push(performance.now() - t0);
        states.add(answer.state);
        if (i % 5 === 4 && proxy.cuts < 20) proxy.cut();
      }
      expect(states.has("rejected")).toBe(false);
      expect(proxy.cuts).toBe(20);
      expect((await s.client.input(run.id, "", { eof: true })).state).not.toBe("rejected");
      expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded" });
      expect(Buffer.from(await s.client.output(run.id))).toEqual(Buffer.concat(sent));
      latencies.sort((a, b) => a - b);
      console.log(`live input delivered: p50 ${latencies[Math.floor(latencies.length / 2)]?.toFixed(1)} ms over ${latencies.length} deliveries acknowledged at once`);
    } finally {
      await proxy.close();
    }
  });

  it("waits for a queued run, and is refused once the pipe is closed, the run has ended, or it was not asked for", async () => {
    s = await startStack({ hosts: 0 });
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "cat; echo end"], stdin: { mode: "pipe" } });
    expect(await s.client.input(run.id, "early\n")).toMatchObject({ state: "queued", seq: 1 });
    // The same through the CLI: tether input <run> --eof.
    const cli = spawnSync(process.execPath, [join(repoRoot(), "bin", "tether.mjs"), "input", run.id, "--eof"], {
      env: { ...process.env, TETHER_URL: s.url, TETHER_TOKEN: s.token },
      encoding: "utf8",
      timeout: COMMAND_MS,
    });
    expect(JSON.parse(cli.stdout)).toMatchObject({ state: "queued", seq: 2 });
    expect(await s.client.input(run.id, "late\n")).toMatchObject({ state: "rejected", reason: expect.stringMatching(/closed/) });
    const waiting = await fetch(`${s.url}/v1/runs/${run.id}/input`, { headers: { authorization: `Bearer ${s.token}` } });
    expect((await waiting.json()).waiting).toEqual([{ seq: 1, bytes: 6, eof: false }, { seq: 2, bytes: 0, eof: true }]);
    await s.addHost();
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded" });
    expect(Buffer.from(await s.client.output(run.id)).toString()).toBe("early\nend\n");
    expect(await s.client.input(run.id, "more")).toMatchObject({ state: "rejected", reason: expect.stringMatching(/has ended/) });
    const plain = await s.client.submit(s.agent, { argv: ["sleep", "5"] });
    expect(await s.client.input(plain.id, "x")).toMatchObject({ state: "rejected", reason: expect.stringMatching(/mode/) });
    await s.client.cancel(plain.id);
  });

  it("tether run -i streams the terminal's stdin into the job, line by line as it is typed", async () => {
    s = await startStack();
    const child = spawn(process.execPath, [join(repoRoot(), "bin", "tether.mjs"), "run", s.agent, "-i", "--", "sh", "-c", 'while read -r l; do echo "$l" | tr a-z A-Z; done'], {
      env: { ...process.env, TETHER_URL: s.url, TETHER_TOKEN: s.token },
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stdin.write("hello from the terminal\n");
    await waitFor("the job to echo the first line", () => out.includes("HELLO FROM THE TERMINAL"));
    child.stdin.end("bye\n");
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    expect(out).toBe("HELLO FROM THE TERMINAL\nBYE\n");
  });
});
