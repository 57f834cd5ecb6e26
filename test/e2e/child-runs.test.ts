/** Runs submitted from inside a job with its own token: to its own agent only, its own to read and cancel. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, waitFor, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack({ slots: 6 });
  await s.client.createAgent("other");
});
afterAll(async () => {
  await s?.stop();
});

/** A job written in JavaScript that talks to the API with the token in its environment. */
const job = (body: string) => [
  process.execPath,
  "-e",
  `
  const api = (method, path, json) => fetch(process.env.TETHER_URL + path, { method,
    headers: { authorization: "Bearer " + process.env.TETHER_TOKEN, "content-type": "application/json" },
    body: json === undefined ? undefined : JSON.stringify(json) });
  const self = process.env.TETHER_RUN_ID, agent = self.split("_").pop();
  const until = async (id) => { for (;;) { const r = await (await api("GET", "/v1/runs/" + id)).json();
    if (!["queued", "running"].includes(r.status)) return r; await new Promise((ok) => setTimeout(ok, 50)); } };
  (async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });`,
];

describe("child runs", () => {
  it("a job submits three children with its own token, waits for them, and can touch no other run or agent", async () => {
    const outsider = await s.client.submit(s.agent, { argv: ["true"] });
    const run = await s.client.submit(s.agent, {
      argv: job(`
        const ids = [];
        for (const i of [1, 2, 3]) ids.push((await (await api("POST", "/v1/agents/" + agent + "/runs", { argv: ["echo", "child " + i] })).json()).id);
        const ended = await Promise.all(ids.map(until));
        const listed = (await (await api("GET", "/v1/runs/" + self + "/children")).json()).runs.map((r) => r.id);
        console.log(JSON.stringify({
          statuses: ended.map((r) => r.status), parents: ended.map((r) => r.parent_run_id), listed: listed.join() === ids.join(),
          other_run: (await api("GET", "/v1/runs/${outsider.id}")).status,
          other_cancel: (await api("POST", "/v1/runs/${outsider.id}/cancel")).status,
          other_agent: (await api("POST", "/v1/agents/other/runs", { argv: ["true"] })).status,
          self_cancel: (await api("POST", "/v1/runs/" + self + "/cancel")).status,
        }));`),
    });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded" });
    const said = JSON.parse(Buffer.from(await s.client.output(run.id)).toString());
    expect(said).toEqual({ statuses: ["succeeded", "succeeded", "succeeded"], parents: [run.id, run.id, run.id], listed: true, other_run: 403, other_cancel: 403, other_agent: 403, self_cancel: 403 });
    const children = await s.client.children(run.id);
    expect(children.map((c) => c.parent_run_id)).toEqual([run.id, run.id, run.id]);
  });

  it("cancelling a run cancels its children, but not one submitted detached", async () => {
    const run = await s.client.submit(s.agent, {
      argv: job(`
        const a = (await (await api("POST", "/v1/agents/" + agent + "/runs", { argv: ["sleep", "100"] })).json()).id;
        const b = (await (await api("POST", "/v1/agents/" + agent + "/runs", { argv: ["sleep", "100"], detached: true })).json()).id;
        console.log(a + " " + b);
        setInterval(() => {}, 1000);`),
    });
    const [a, b] = await waitFor("the children's ids", async () => {
      const text = Buffer.from(await s.client.output(run.id)).toString().trim();
      return text ? text.split(" ") : null;
    });
    await s.client.cancel(run.id);
    expect(await s.client.wait(run.id)).toMatchObject({ status: "cancelled" });
    expect(await s.client.wait(a!)).toMatchObject({ status: "cancelled" });
    expect((await s.client.get(b!)).status).not.toBe("cancelled");
    await s.client.cancel(b!);
  });

  it("wait(run, {signal}) cancels the run when the signal aborts", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sleep", "100"] });
    const ac = new AbortController();
    const waiting = s.client.wait(run.id, { signal: ac.signal });
    ac.abort();
    await expect(waiting).rejects.toThrow();
    expect(await s.client.wait(run.id)).toMatchObject({ status: "cancelled" });
  });
});
