import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TetherClient, TetherError } from "../../src/client/sdk.js";
import { workspaceToken } from "../../src/local/stack.js";
import { collect, groupAlive, groupMembers, outputOf, startStack, waitFor, type Stack } from "./harness.js";
import { startHostAgent } from "../../src/local/hosts.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack({ restartable: true });
});
afterAll(async () => {
  await s?.stop();
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("a job on a real host", () => {
  it("succeeds with exit 0 and fails with the process's exit code", async () => {
    const ok = await s.client.submit(s.agent, { argv: ["true"] });
    // A host with a free slot takes the run in the same step as the submit.
    expect(["queued", "running"]).toContain(ok.status);
    const bad = await s.client.submit(s.agent, { argv: ["sh", "-c", "exit 3"] });
    expect(await s.client.wait(ok.id)).toMatchObject({ status: "succeeded", exit_code: 0, signal: null });
    const failed = await s.client.wait(bad.id);
    expect(failed).toMatchObject({ status: "failed", exit_code: 3, error: "exited with code 3" });
    expect(failed.started_at).not.toBeNull();
    expect(failed.ended_at).not.toBeNull();
  });

  it("run submits and waits in one call: the answer is the ended run, its output stored", async () => {
    const done = await s.client.run(s.agent, { argv: ["sh", "-c", "echo ran; exit 4"] });
    expect(done).toMatchObject({ status: "failed", exit_code: 4 });
    expect(done).toEqual(await s.client.get(done.id));
    expect(Buffer.from(await s.client.output(done.id, { stream: "stdout" })).toString()).toBe("ran\n");
  });

  it("a short job's output comes with its end, reads the same before and after a watcher, and past the cap goes by the stream", async () => {
    const quick = await s.client.wait((await s.client.submit(s.agent, { argv: ["sh", "-c", "echo out; echo err >&2"] })).id);
    expect(quick.status).toBe("succeeded");
    const events = [];
    for await (const e of s.client.events(quick.id)) events.push(e);
    expect(events.map((e) => e.type)).toContain("process_started");
    expect(Buffer.from(await s.client.output(quick.id)).toString()).toBe("out\nerr\n");
    // A watcher, which makes the run's object, hears the same.
    const watched = await collect(s.client, quick.id);
    expect(outputOf(watched.events, "stdout").toString()).toBe("out\n");
    expect(outputOf(watched.events, "stderr").toString()).toBe("err\n");

    // 3,000 bytes at once with a cap of 1,024: the end cannot carry them, the stream cuts them.
    const capped = `capped-${Date.now()}`;
    const { host_token } = await s.client.createAgent(capped, { max_output_bytes: 1024 });
    const host = startHostAgent({ url: s.url, hostToken: host_token, stdio: "pipe", slots: 1 });
    s.hosts.push(host);
    await host.connected;
    const big = await s.client.wait((await s.client.submit(capped, { argv: ["sh", "-c", "head -c 3000 /dev/zero | tr '\\0' a"] })).id);
    expect(big.status).toBe("succeeded");
    expect(Buffer.from(await s.client.output(big.id)).toString()).toBe("a".repeat(1024));
  });

  it("refuses an argument with a NUL byte, which an exec would cut, whichever way the host starts the job", async () => {
    // The first run takes the process the host made ahead; the second one has none ready yet or the next.
    for (const argv of [["echo", "a\u0000b"], ["printf", "%s", "x"], ["echo", "c\u0000d"]]) {
      const run = await s.client.wait((await s.client.submit(s.agent, { argv })).id);
      if (argv[0] === "printf") expect(run.status).toBe("succeeded");
      else expect(run).toMatchObject({ status: "failed", error: expect.stringMatching(/could not start echo: .*null bytes/) });
    }
  });

  it("reports the signal that killed the process", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "kill -TERM $$"] });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "failed", exit_code: null, signal: "SIGTERM" });
  });

  it("fails a program that does not exist, saying why", async () => {
    const run = await s.client.submit(s.agent, { argv: ["/no/such/program"] });
    const end = await s.client.wait(run.id);
    expect(end.status).toBe("failed");
    expect(end.error).toMatch(/could not start \/no\/such\/program: .*ENOENT/);
  });

  it("keeps stdout and stderr apart, and keeps output with no trailing newline", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "printf 'o1\\n'; printf e1 >&2; printf 'o2 no newline'"] });
    const { events } = await collect(s.client, run.id);
    expect(outputOf(events, "stdout").toString()).toBe("o1\no2 no newline");
    expect(outputOf(events, "stderr").toString()).toBe("e1");
    expect(Buffer.from(await s.client.output(run.id, { stream: "stdout" })).toString()).toBe("o1\no2 no newline");
    expect(Buffer.from(await s.client.output(run.id, { stream: "stderr" })).toString()).toBe("e1");
  });

  it("delivers stdin, environment and the run's own identity", async () => {
    const run = await s.client.submit(s.agent, {
      argv: ["sh", "-c", 'cat; echo "|$GREETING|$TETHER_RUN_ID|$TETHER_ATTEMPT|${TETHER_HOST_TOKEN:-none}"'],
      stdin: "line one\nline two",
      env: { GREETING: "hi there" },
    });
    await s.client.wait(run.id);
    const out = Buffer.from(await s.client.output(run.id, { stream: "stdout" })).toString();
    expect(out).toBe(`line one\nline two|hi there|${run.id}|1|none\n`);
  });

  it("gives a job with no stdin an empty one: it reads the end at once, and a write to it harms nothing", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", 'n=$(wc -c); echo "read $n"; echo x >&0 2>/dev/null; echo still here'] });
    expect((await s.client.wait(run.id)).status).toBe("succeeded");
    expect(Buffer.from(await s.client.output(run.id, { stream: "stdout" })).toString()).toBe("read 0\nstill here\n");
  });

  it("stores 10 MB of random bytes exactly, and a watcher sees the same bytes", async () => {
    const bytes = randomBytes(10 * 1024 * 1024);
    const file = join(s.dir, "random.bin");
    writeFileSync(file, bytes);
    const run = await s.client.submit(s.agent, { argv: ["cat", file] });
    const { events, run: end } = await collect(s.client, run.id);
    expect(end.status).toBe("succeeded");
    expect(sha(outputOf(events, "stdout"))).toBe(sha(bytes));
    const stored = await s.client.output(run.id, { stream: "stdout" });
    expect(stored.byteLength).toBe(bytes.byteLength);
    expect(sha(stored)).toBe(sha(bytes));
  });

  it("runs jobs side by side up to the host's slots", async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => s.client.submit(s.agent, { argv: ["sh", "-c", `echo job-${i}`] })));
    const ends = await Promise.all(runs.map((r) => s.client.wait(r.id)));
    expect(ends.every((r) => r.status === "succeeded")).toBe(true);
    const outs = await Promise.all(runs.map((r) => s.client.output(r.id)));
    expect(outs.map((o) => Buffer.from(o).toString())).toEqual(runs.map((_, i) => `job-${i}\n`));
  });
});

describe("the watch stream", () => {
  it("sends state, events and output with ids, ends after the terminal state, and resumes with Last-Event-ID", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; echo done >&2"] });
    const { events } = await collect(s.client, run.id);
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    const states = events.flatMap((e) => (e.type === "state" ? [e.run.status] : []));
    expect(states[0]).toBe("queued");
    expect(states).toContain("running");
    expect(states.at(-1)).toBe("succeeded");
    expect(events.at(-1)?.type).toBe("state");
    expect(events.some((e) => e.type === "event" && e.event.type === "attempt_started")).toBe(true);
    // Resume from every point: exactly what came after, nothing repeated or skipped.
    for (const cut of [1, 3, Math.floor(ids.length / 2), ids.length - 1]) {
      const rest = await collect(s.client, run.id, ids[cut - 1]!);
      expect(rest.events.map((e) => e.id)).toEqual(ids.slice(cut));
    }
  });

  it("a watcher that drops mid-run and resumes misses nothing", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "for i in $(seq 1 20); do echo tick $i; sleep 0.02; done"] });
    const first: number[] = [];
    const chunks: Buffer[] = [];
    const ac = new AbortController();
    try {
      for await (const ev of s.client.watch(run.id, { signal: ac.signal })) {
        first.push(ev.id);
        if (ev.type === "output") chunks.push(Buffer.from(ev.data));
        if (chunks.length >= 3) ac.abort();
      }
    } catch {
      /* aborted */
    }
    const rest = await collect(s.client, run.id, first.at(-1)!);
    for (const ev of rest.events) if (ev.type === "output") chunks.push(Buffer.from(ev.data));
    const all = [...first, ...rest.events.map((e) => e.id)];
    expect(new Set(all).size).toBe(all.length);
    expect(Buffer.concat(chunks).toString()).toBe(Array.from({ length: 20 }, (_, i) => `tick ${i + 1}\n`).join(""));
  });

  it("answers 204 to a watcher of an ended run that has heard everything, so EventSource and the SDK stop", async () => {
    const run = await s.client.submit(s.agent, { argv: ["echo", "done"] });
    const { events } = await collect(s.client, run.id);
    const last = events.at(-1)!.id;
    const res = await fetch(`${s.url}/v1/runs/${run.id}/watch`, { headers: { authorization: `Bearer ${s.token}`, "last-event-id": String(last) } });
    expect(res.status).toBe(204);
    const after: unknown[] = [];
    for await (const ev of s.client.watch(run.id, { after: last })) after.push(ev);
    expect(after).toEqual([]);
  });

  it("speaks real SSE over HTTP: text/event-stream with id, event and data lines", async () => {
    const run = await s.client.submit(s.agent, { argv: ["echo", "hi"] });
    await s.client.wait(run.id);
    const res = await fetch(`${s.url}/v1/runs/${run.id}/watch`, { headers: { authorization: `Bearer ${s.token}` } });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const text = await res.text();
    expect(text).toMatch(/^id: \d+\nevent: state\ndata: \{/);
    // Text reads as text; bytes that are not UTF-8 stay exact as base64.
    expect(text).toContain(`event: output\ndata: {"stream":"stdout","attempt":1,"text":"hi\\n"}`);
    const binary = await s.client.submit(s.agent, { argv: ["printf", "\\377\\n"] });
    await s.client.wait(binary.id);
    const raw = await (await fetch(`${s.url}/v1/runs/${binary.id}/watch`, { headers: { authorization: `Bearer ${s.token}` } })).text();
    expect(raw).toContain(`"data":"${Buffer.from([0xff, 0x0a]).toString("base64")}"`);
  });
});

describe("cancel", () => {
  it("kills the whole process group, grandchildren too, and the run ends cancelled", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "sleep 1000 & sleep 1000"] });
    let pid = 0;
    for await (const ev of s.client.watch(run.id)) {
      if (ev.type === "event" && ev.event.type === "process_started") {
        pid = ev.event.pid as number;
        break;
      }
    }
    expect(pid).toBeGreaterThan(0);
    await waitFor("the background sleep to start", () => groupMembers(pid) >= 2);
    const cancelled = await s.client.cancel(run.id);
    expect(cancelled.cancel_requested).toBe(true);
    const end = await s.client.wait(run.id);
    expect(end.status).toBe("cancelled");
    // Every member has exited by the time the run ends; the kernel may take a moment to reap them.
    expect(groupMembers(pid, { live: true })).toBe(0);
    await waitFor("the group to be reaped", () => !groupAlive(pid), 5000);
    // Idempotent, and never an error for a run that ended.
    expect((await s.client.cancel(run.id)).status).toBe("cancelled");
  });

  it("escalates to SIGKILL after the grace period for a job that ignores SIGTERM", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.05; done"] });
    for await (const ev of s.client.watch(run.id)) if (ev.type === "output") break;
    await s.client.cancel(run.id);
    const end = await s.client.wait(run.id);
    expect(end).toMatchObject({ status: "cancelled", signal: "SIGKILL" });
  });

  it("ends a job past its timeout as timed_out", async () => {
    const run = await s.client.submit(s.agent, { argv: ["sleep", "30"], timeout_ms: 300 });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "timed_out" });
  });
});

describe("over real HTTP", () => {
  it("refuses a request without a token", async () => {
    const res = await fetch(`${s.url}/v1/agents/${s.agent}`);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("gives 404 for a run of another workspace", async () => {
    const run = await s.client.submit(s.agent, { argv: ["true"] });
    const other = new TetherClient({ url: s.url, token: await workspaceToken(s.key, "someone-else") });
    await expect(other.get(run.id)).rejects.toMatchObject({ status: 404 });
    await expect(other.output(run.id)).rejects.toBeInstanceOf(TetherError);
  });

  it("keeps runs across a restart of the control plane (state on disk)", async () => {
    const run = await s.client.submit(s.agent, { argv: ["echo", "persisted"] });
    await s.client.wait(run.id);
    await s.restartPlane();
    expect((await s.client.get(run.id)).status).toBe("succeeded");
    expect(Buffer.from(await s.client.output(run.id)).toString()).toBe("persisted\n");
  });
});


