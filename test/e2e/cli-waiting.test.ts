/**
 * While a run waits, tether run, await and watch say why on stderr, once per change of reason,
 * and keep waiting: a run needing a host label no host has, an agent with no host, a full
 * concurrency key, a run held for approval. Each then runs when what it waits for comes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../src/local/paths.js";
import { startHostAgent, type HostAgent } from "../../src/local/stack.js";
import { cli, startStack, waitFor, type Stack } from "./harness.js";

let s: Stack;
const extra: HostAgent[] = [];
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await Promise.all(extra.map((h) => h.stop("SIGKILL")));
  await s?.stop();
});

interface Running {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

/** The real CLI, in the background, its output collected as it comes. */
function tether(...args: string[]): Running {
  const child = spawn(process.execPath, [join(repoRoot(), "bin", "tether.mjs"), ...args], { env: { ...process.env, TETHER_URL: s.url, TETHER_TOKEN: s.token } });
  let out = "";
  let err = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

const count = (text: string, line: string) => text.split("\n").filter((l) => l === line).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A host of `hostToken`'s agent with these labels. */
async function hostWith(hostToken: string, labels: string[] = [], policy = ["--security", "full", "--sandbox", "off"]): Promise<void> {
  const h = startHostAgent({ url: s.url, hostToken, stdio: "pipe", policy: [...policy, ...labels.flatMap((l) => ["--label", l])] });
  extra.push(h);
  await h.connected;
}

describe("why a run waits", () => {
  it("tether run with a label no host has says so once, keeps waiting, and runs when such a host comes", async () => {
    const r = tether("run", s.agent, "--require", "gpu=true", "--", "echo", "ran");
    await waitFor("the waiting line", () => r.err().includes("tether: waiting for a host with gpu=true\n"));
    await sleep(4500); // two reads of the agent's status: the same reason is not said again
    expect(count(r.err(), "tether: waiting for a host with gpu=true"), r.err()).toBe(1);
    expect(r.out()).toBe("");
    await hostWith(s.hostToken, ["gpu=true"]);
    expect(await r.exit, r.err()).toBe(0);
    expect(r.out()).toBe("ran\n");
    expect(count(r.err(), "tether: waiting for a host with gpu=true")).toBe(1);
  });

  it("an agent with no host: tether run, await and watch say so, and finish once a host connects", async () => {
    const { host_token } = await s.client.createAgent("lonely");
    const line = "tether: waiting: no host is connected to agent lonely (start one with tether-agent, or npm start for the local one)";
    const run = tether("run", "lonely", "--", "echo", "hi");
    const id = cli(s, ["run", "lonely", "--detach", "--", "echo", "later"]).stdout.trim();
    const awaiting = tether("await", id);
    const watching = tether("watch", id);
    for (const [name, p] of [["run", run], ["await", awaiting], ["watch", watching]] as const) await waitFor(`tether ${name}'s waiting line`, () => p.err().includes(`${line}\n`));
    await hostWith(host_token);
    expect(await run.exit, run.err()).toBe(0);
    expect(run.out()).toBe("hi\n");
    expect(await awaiting.exit, awaiting.err()).toBe(0);
    expect(awaiting.out()).toBe("");
    expect(await watching.exit, watching.err()).toBe(0);
    expect(watching.out()).toBe("later\n");
    for (const p of [run, awaiting, watching]) expect(count(p.err(), line)).toBe(1);
  });

  it("a full concurrency key: says which, and runs when the key has room", async () => {
    const holder = await s.client.submit(s.agent, { argv: ["sleep", "60"], concurrency: { key: "deploy", limit: 1 } });
    await waitFor("the holder to run", async () => (await s.client.get(holder.id)).status === "running");
    const r = tether("run", s.agent, "--concurrency", "key=deploy,limit=1", "--", "echo", "next");
    await waitFor("the waiting line", () => r.err().includes('tether: waiting for a slot in concurrency key "deploy": 1 of 1 running\n'));
    await s.client.cancel(holder.id);
    expect(await r.exit, r.err()).toBe(0);
    expect(r.out()).toBe("next\n");
    expect(r.err().match(/waiting/g)?.length, r.err()).toBe(1);
  });

  it("a run held for approval says so, with the commands that answer it, and runs once approved", async () => {
    const { host_token } = await s.client.createAgent("asks");
    await hostWith(host_token, [], ["--security", "allowlist", "--allow", "true", "--sandbox", "off"]);
    const r = tether("run", "asks", "--", "sh", "-c", "echo approved");
    const line = await waitFor("the approval line", () => /^tether: waiting for approval \(.*not on the allowlist.*\): tether approve (\S+), or tether deny \1$/m.exec(r.err()));
    await s.client.approve(line[1]!, "looked at it");
    expect(await r.exit, r.err()).toBe(0);
    expect(r.out()).toBe("approved\n");
    expect(r.err().match(/waiting for approval/g)?.length).toBe(1);
  });

  it("a run that starts at once says nothing of waiting", () => {
    const r = cli(s, ["run", s.agent, "--", "echo", "quick"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
  });
});
