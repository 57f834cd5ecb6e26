/**
 * The figures of data flow, measured on the local stack and printed (not asserted on time):
 * live input from the API call to the host's acknowledgement, and dispatch of a child run
 * submitted from inside a job beside one submitted from outside.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack({ slots: 4 });
});
afterAll(async () => {
  await s?.stop();
});

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe("data flow figures", () => {
  it("live input: delivered to the process, p50 from the API call", async () => {
    const run = await s.client.submit(s.agent, { argv: ["cat"], stdin: { mode: "pipe" } });
    const ms: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      const a = await s.client.input(run.id, `${i}\n`);
      if (a.state === "delivered") ms.push(performance.now() - t0);
    }
    await s.client.input(run.id, "", { eof: true });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded" });
    expect(ms.length).toBeGreaterThan(90);
    console.log(`live input delivered p50: ${p50(ms).toFixed(2)} ms (${ms.length} deliveries)`);
  });

  it("a child run submitted from inside a job starts as fast as one from outside", async () => {
    // Each child prints when it started; dispatch is that minus when its submit was sent.
    const child = [process.execPath, "-e", "console.log(Date.now())"];
    const outside: number[] = [];
    for (let i = 0; i < 30; i++) {
      const sent = Date.now();
      const run = await s.client.submit(s.agent, { argv: child });
      await s.client.wait(run.id);
      outside.push(Number(Buffer.from(await s.client.output(run.id)).toString()) - sent);
    }
    const parent = await s.client.submit(s.agent, {
      argv: [process.execPath, "-e", `
        const api = (m, p, j) => fetch(process.env.TETHER_URL + p, { method: m, headers: { authorization: "Bearer " + process.env.TETHER_TOKEN, "content-type": "application/json" }, body: j && JSON.stringify(j) });
        const agent = process.env.TETHER_RUN_ID.split("_").pop();
        (async () => {
          const out = [];
          for (let i = 0; i < 30; i++) {
            const sent = Date.now();
            const id = (await (await api("POST", "/v1/agents/" + agent + "/runs", { argv: ${JSON.stringify(child)} })).json()).id;
            for (;;) { const r = await (await api("GET", "/v1/runs/" + id)).json(); if (r.status === "succeeded") break; await new Promise((ok) => setTimeout(ok, 5)); }
            out.push(Number((await (await api("GET", "/v1/runs/" + id + "/output")).text())) - sent);
          }
          console.log(JSON.stringify(out));
        })();`],
    });
    expect(await s.client.wait(parent.id)).toMatchObject({ status: "succeeded" });
    const inside = JSON.parse(Buffer.from(await s.client.output(parent.id)).toString()) as number[];
    console.log(`dispatch to process start p50: from inside a job ${p50(inside)} ms, from outside ${p50(outside)} ms (clock resolution 1 ms)`);
  });
});
