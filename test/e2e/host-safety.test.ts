/**
 * Hostile jobs against real tether-agent processes under host policies: each is refused or
 * contained, and the run says so. One agent per policy, so each run lands on the host meant.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHostAgent } from "../../src/local/stack.js";
import { repoRoot } from "../../src/local/paths.js";
import { Redactor } from "../../worker-agent/src/redactor.js";
import { attemptPid, procFile, startStack, type Stack } from "./harness.js";

const repo = repoRoot();
let s: Stack;
/** Host tokens by agent, to look for them in what jobs can see. */
const hostTokens: string[] = [];

async function hostFor(agent: string, policy: string[] | ((token: string) => string[]), env: Record<string, string> = {}): Promise<void> {
  const token = (await s.client.createAgent(agent)).host_token;
  hostTokens.push(token);
  if (typeof policy === "function") policy = policy(token);
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const host = startHostAgent({ url: s.url, hostToken: token, stdio: "pipe", slots: 4, graceMs: 500, policy });
  process.env = saved;
  s.hosts.push(host);
  await host.connected;
}

async function run(agent: string, argv: string[], env?: Record<string, string>) {
  const r = await s.client.submit(agent, { argv, ...(env && { env }) });
  const end = await s.client.wait(r.id);
  const out = Buffer.from(await s.client.output(r.id, { stream: "stdout" })).toString("latin1");
  const err = Buffer.from(await s.client.output(r.id, { stream: "stderr" })).toString("latin1");
  return { end, out, err, id: r.id };
}

/** Processes on this machine whose command line or environment holds `marker`. */
function survivors(marker: string): string[] {
  const pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  return pids.filter((p) => procFile(`/proc/${p}/cmdline`).includes(marker) || procFile(`/proc/${p}/environ`).includes(marker));
}

const DECOY = `decoy-${randomBytes(8).toString("hex")}`;
const LIMITS_TOML = `
security = "full"
sandbox = "off"
max_processes = 20
max_output_bytes = 100000
max_wall_ms = 1500
max_memory_mb = 64
redact_env = ["PLAIN_VALUE"]
`;
const boxedToml = (workspace: string) => `security = "full"\nsandbox = "required"\nnetwork = false\nworkspace = "${workspace}"\naccess = "ro"\n`;

beforeAll(async () => {
  s = await startStack({ hosts: 0 });
  const policy = (name: string, toml: string) => (writeFileSync(join(s.dir, name), toml), join(s.dir, name));
  // Its token on the command line: tether-agent must not leave it readable in /proc/<pid>/cmdline.
  await hostFor("plain", (token) => ["--security", "full", "--sandbox", "off", "--env-pass", "PASS_ME", "--token", token], { PASS_ME: "passed", NOT_PASSED: "leak" });
  await hostFor("limits", ["--policy", policy("limits.toml", LIMITS_TOML)]);
  await hostFor("allowlist", ["--security", "allowlist", "--ask", "off", "--allow", "cat", "--allow", "/usr/bin/printf", "--sandbox", "off"]);
  mkdirSync(join(s.dir, "ws"));
  writeFileSync(join(s.dir, "ws", "in.txt"), "inside\n");
  writeFileSync(join(s.dir, "decoy-secret.txt"), DECOY);
  // Required: without bubblewrap (CI installs it) this host refuses every job and the sandbox tests fail.
  await hostFor("boxed", ["--policy", policy("boxed.toml", boxedToml(join(s.dir, "ws")))]);
});
afterAll(async () => {
  await s?.stop();
});

describe("the allowlist", () => {
  it("runs an allowed program and refuses others by absolute path, symlink, PATH and sh -c", async () => {
    const ok = await run("allowlist", ["cat", "/proc/self/environ"], { LD_PRELOAD: "/tmp/not-a-lib.so" });
    expect(ok.end.status).toBe("succeeded");
    expect(ok.out).not.toContain("LD_PRELOAD"); // the loader would run any code in an allowed program
    const bin = join(s.dir, "fake-bin");
    mkdirSync(bin);
    symlinkSync("/usr/bin/id", join(bin, "linked-cat"));
    copyFileSync("/usr/bin/id", join(bin, "cat"));
    const cases: [string[], Record<string, string> | undefined, RegExp][] = [
      [["/usr/bin/id"], undefined, /\/usr\/bin\/id resolves to \/usr\/bin\/id, which is not on the allowlist/],
      [["../../../../../../../../usr/bin/id"], undefined, /resolves to \/usr\/bin\/id, which is not on the allowlist/],
      [[join(bin, "linked-cat")], undefined, /resolves to \/usr\/bin\/id, which is not on the allowlist/],
      [["cat", "/etc/hostname"], { PATH: bin }, /cat resolves to .*fake-bin\/cat, which is not on the allowlist/],
      [["sh", "-c", "cat /etc/hostname"], undefined, /sh resolves to \S+, which is not on the allowlist/],
    ];
    for (const [argv, env, why] of cases) {
      const r = await run("allowlist", argv, env);
      expect(r.end.status, argv.join(" ")).toBe("failed");
      expect(r.end.error).toMatch(/refused by host policy: /);
      expect(r.end.error).toMatch(why);
      expect(r.end.error).toMatch(/security = "allowlist"/);
    }
  });
});

describe("the environment", () => {
  it("holds only the basics, the passed names, the run's env and its TETHER_* identity", async () => {
    const r = await run("plain", ["cat", "/proc/self/environ"], { GREETING: "hi", TETHER_URL: "http://evil", HOME: "/evil" });
    expect(r.end.status).toBe("succeeded");
    const env = Object.fromEntries(r.out.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    const names = Object.keys(env).filter((n) => n !== "LANG" && n !== "TERM" && !n.startsWith("LC_"));
    expect(names.sort()).toEqual(["GREETING", "HOME", "PASS_ME", "PATH", "TETHER_ATTEMPT", "TETHER_RESULT_PATH", "TETHER_RUN_ID", "TETHER_TOKEN", "TETHER_URL", "TMPDIR"]);
    expect(env).toMatchObject({ GREETING: "hi", PASS_ME: "passed", TETHER_URL: s.url, TETHER_RUN_ID: r.id, TETHER_TOKEN: "[REDACTED]" });
    expect(env.HOME).not.toBe("/evil");
    expect(env.HOME).not.toBe(repo);
    expect(existsSync(env.HOME!), "the attempt's directory is removed with the run").toBe(false);
  });

  it("never holds the host's token, nor can a job read it from its host's command line", async () => {
    const r = await run("plain", ["sh", "-c", "env; tr '\\0' ' ' < /proc/$PPID/cmdline"]);
    expect(r.out).toContain("--token [hidden]");
    for (const t of hostTokens) expect(r.out).not.toContain(t);
  });
});

describe("containment", () => {
  const escapes = [
    { what: "nothing a job starts outlives the run, setsid and double fork included", prefix: "escape", trap: "" },
    { what: "runaways deaf to SIGTERM are killed when the run ends, one holding its output too", prefix: "deaf", trap: 'trap "" TERM; ' },
  ];
  for (const agent of ["plain", "boxed"]) {
    for (const { what, prefix, trap } of escapes) {
      it(`${agent}: ${what}`, async () => {
        const marker = `${prefix}-${randomBytes(6).toString("hex")}`;
        const script = [
          `setsid sh -c '${trap}sleep 1000; : ${marker}-a' >/dev/null 2>&1 &`,
          `(sh -c '${trap}sleep 1000; : ${marker}-b' & ) >/dev/null 2>&1`,
          `setsid sh -c '${trap}sleep 1000; : ${marker}-c' &`, // this one holds the output pipes open
          "echo started",
        ].join("\n");
        const r = await run(agent, ["sh", "-c", script]);
        expect(r.end.status).toBe("succeeded");
        expect(r.out).toBe("started\n");
        expect(survivors(marker)).toEqual([]);
      });
    }
  }

  it("a fork bomb is stopped by max_processes, and the run says so", async () => {
    const marker = `bomb-${randomBytes(6).toString("hex")}`;
    const r = await run("limits", ["sh", "-c", "i=0; while [ $i -lt 200 ]; do sleep 1000 & i=$((i+1)); done; wait"], { BOMB: marker });
    expect(r.end.status).toBe("failed");
    expect(r.end.error).toMatch(/^limit max_processes: the job had \d+ processes, the host allows 20$/);
    expect(survivors(marker)).toEqual([]);
  });

  it("output past max_output_bytes is not forwarded, and the run says so", async () => {
    const r = await run("limits", ["sh", "-c", "while :; do printf '%01000d\\n' 0; done"]);
    expect(r.end).toMatchObject({ status: "failed", error: "limit max_output_bytes: the job wrote more than 100000 bytes" });
    expect(r.out.length).toBe(100000);
  });

  it("memory past max_memory_mb ends the job, and the run says so", async () => {
    // dd fills a 200 MB buffer at once and holds it, blocked on a pipe no one reads: well within
    // the policy's 1500 ms of wall time even on a loaded machine, where filling a shell variable was not.
    const r = await run("limits", ["sh", "-c", "dd if=/dev/zero bs=200M count=1 2>/dev/null | sleep 5"]);
    expect(r.end.status).toBe("failed");
    expect(r.end.error).toMatch(/^limit max_memory_mb: the job used \d+ MB, the host allows 64$/);
  });

  it("the policy's max_wall_ms ends a job before its own timeout", async () => {
    const r = await run("limits", ["sleep", "30"]);
    expect(r.end).toMatchObject({ status: "timed_out", error: "limit max_wall_ms: the host allows 1500 ms per job" });
  });
});

describe("working directories", () => {
  it("a host removes those a killed host left behind, and only those", async () => {
    const workDir = join(s.dir, "work");
    const flags = ["--security", "full", "--sandbox", "off", "--work-dir", workDir];
    const sleepOn = async (agent: string) => attemptPid(s.client, (await s.client.submit(agent, { argv: ["sleep", "1000"] })).id);
    await hostFor("steady", flags);
    const steady = s.hosts.at(-1)!;
    await hostFor("crashy", flags);
    await Promise.all([sleepOn("steady"), sleepOn("crashy")]);
    const crashy = s.hosts.at(-1)!;
    // Each host's: the running job's, and the one made ahead for its next job.
    const owners = () => readdirSync(workDir).map((d) => d.split("-")[0]).sort();
    expect(owners()).toEqual([String(steady.child.pid), String(steady.child.pid), String(crashy.child.pid), String(crashy.child.pid)].sort());
    const steadyDirs = readdirSync(workDir).filter((d) => d.startsWith(`${steady.child.pid}-`)).sort();
    await crashy.stop("SIGKILL");
    await hostFor("after-crash", flags);
    const after = s.hosts.at(-1)!;
    expect(readdirSync(workDir).filter((d) => !d.startsWith(`${after.child.pid}-`)).sort()).toEqual(steadyDirs);
  });

  it("a host that stops leaves none behind: not its jobs', not the one made ahead", async () => {
    const workDir = join(s.dir, "work-stop");
    await hostFor("stopping", ["--security", "full", "--sandbox", "off", "--work-dir", workDir]);
    const host = s.hosts.at(-1)!;
    const runs = await Promise.all([0, 1, 2].map((i) => s.client.submit("stopping", { argv: ["sh", "-c", `mkdir -p a/b && echo ${i} > a/b/f && echo ${i} > "$TMPDIR/t"`] })));
    for (const r of runs) expect((await s.client.wait(r.id)).status).toBe("succeeded");
    expect(readdirSync(workDir).length).toBeGreaterThan(0);
    await host.stop("SIGTERM");
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("while runs wait in the queue jobs start as they come; once it runs dry the next is met by a process made ahead", async () => {
    const workDir = join(s.dir, "work-backlog");
    await hostFor("backlog", ["--security", "full", "--sandbox", "off", "--work-dir", workDir]);
    const madeAhead = async (id: string) => {
      expect((await s.client.wait(id)).status).toBe("succeeded");
      const dir = Buffer.from(await s.client.output(id, { stream: "stdout" })).toString().trim();
      return basename(dir).split("-")[1] === "warm";
    };
    // Twelve for four slots: each of the first eight is given out with at least four behind it.
    const results = await s.client.submitMany("backlog", Array.from({ length: 12 }, () => ({ argv: ["sh", "-c", "pwd"] })));
    const ids = results.map((r) => ("run" in r ? r.run.id : expect.fail(r.problem.detail)));
    const ahead = await Promise.all(ids.map(madeAhead));
    // Only the one made when the host started, if one of them took it.
    expect(ahead.slice(0, 8).filter(Boolean).length).toBeLessThanOrEqual(1);
    const alone = await s.client.submit("backlog", { argv: ["sh", "-c", "pwd"] });
    expect(await madeAhead(alone.id)).toBe(true);
  });
});

describe("redaction", () => {
  it("cuts secrets from the output, also when split across two writes", async () => {
    const secret = `s3cr3t-${randomBytes(8).toString("hex")}`;
    const half = secret.length >> 1;
    const script = `printf '%s' "${secret.slice(0, half)}"; sleep 0.2; printf '%s and %s|%s\\n' "${secret.slice(half)}" "$PLAIN_VALUE" "$TETHER_TOKEN" >&1`;
    const r = await run("limits", ["sh", "-c", script], { API_TOKEN: secret, PLAIN_VALUE: "not-named-as-secret" });
    expect(r.end.status).toBe("succeeded");
    expect(r.out).toBe("[REDACTED] and [REDACTED]|[REDACTED]\n");
  });

  it("Redactor: every split point, binary bytes untouched", () => {
    const secret = "hunter2-secret";
    const bytes = Buffer.concat([randomBytes(300).map((b) => (b === 0x68 ? 0 : b)), Buffer.from(secret), Buffer.from([0, 255, 10]), Buffer.from(secret)]);
    const expected = Buffer.concat([bytes.subarray(0, 300), Buffer.from("[REDACTED]"), Buffer.from([0, 255, 10]), Buffer.from("[REDACTED]")]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (const cut2 of [cut, Math.min(bytes.length, cut + 5)]) {
        const r = new Redactor([secret, "short"]);
        const out = Buffer.concat([r.push(bytes.subarray(0, cut)), r.push(bytes.subarray(cut, cut2)), r.push(bytes.subarray(cut2)), r.end()]);
        expect(out.equals(expected), `cut at ${cut}/${cut2}`).toBe(true);
      }
    }
    // Only what may begin a secret is held back: a prompt goes out at once.
    const held = new Redactor([secret]);
    expect(held.push(Buffer.from("ready> hunt")).toString()).toBe("ready> ");
    expect(held.push(Buffer.from("ing\n")).toString()).toBe("hunting\n");
    const none = new Redactor([]);
    const raw = randomBytes(1000);
    expect(Buffer.concat([none.push(raw), none.end()]).equals(raw)).toBe(true);
  });
});

describe("a job's stdout and stderr", () => {
  it("are pipes a program can open by name, in the sandbox and out of it", async () => {
    const script = "echo out > /dev/stdout; echo err > /dev/stderr; echo both | tee /dev/stderr; test -p /dev/stdout && test -p /dev/stderr && echo pipes";
    for (const agent of ["plain", "boxed"]) {
      const r = await run(agent, ["sh", "-c", script]);
      expect(r.end.status, `${agent}: ${r.err}`).toBe("succeeded");
      expect(r.out, agent).toBe("out\nboth\npipes\n");
      expect(r.err, agent).toBe("err\nboth\n");
    }
  });

  it("and stdin given at submit can be opened by name too, read from its start", async () => {
    for (const agent of ["plain", "boxed"]) {
      const r = await s.client.submit(agent, { argv: ["sh", "-c", "cat /dev/stdin; wc -c"], stdin: "given\n" });
      const end = await s.client.wait(r.id);
      const err = Buffer.from(await s.client.output(r.id, { stream: "stderr" })).toString();
      expect(end.status, `${agent}: ${err}`).toBe("succeeded");
      expect(Buffer.from(await s.client.output(r.id, { stream: "stdout" })).toString(), agent).toBe("given\n6\n");
    }
  });

  it("are socket pairs where no pipe can be made, and the jobs run as before", async () => {
    const empty = join(s.dir, "no-mkfifo");
    mkdirSync(empty);
    // No mkfifo on its PATH: the host says so and gives its jobs Node's socket pairs.
    await hostFor("no-mkfifo", ["--security", "full", "--sandbox", "off"], { PATH: empty });
    const r = await s.client.submit("no-mkfifo", { argv: ["/bin/sh", "-c", "echo out; echo err >&2; cat; test -S /dev/stdout && echo socket"], stdin: "in\n", env: { PATH: "/usr/bin:/bin" } });
    expect((await s.client.wait(r.id)).status).toBe("succeeded");
    expect(Buffer.from(await s.client.output(r.id, { stream: "stdout" })).toString()).toBe("out\nin\nsocket\n");
    expect(Buffer.from(await s.client.output(r.id, { stream: "stderr" })).toString()).toBe("err\n");
  });

  it("leave nothing open in the host once the jobs are over", async () => {
    const pid = s.hosts[0]!.child.pid!;
    const open = () => readdirSync(`/proc/${pid}/fd`).length;
    const before = open();
    const runs = await Promise.all(Array.from({ length: 200 }, (_, i) => s.client.submit("plain", { argv: ["sh", "-c", `cat; echo ${i} >&2`], ...(i % 2 && { stdin: `${i}\n` }) })));
    for (const r of runs) expect((await s.client.wait(r.id)).status).toBe("succeeded");
    // Pipes made ahead come and go in batches of 64: two descriptors kept for each job would be 400.
    expect(open() - before).toBeLessThan(150);
  });
});

describe("the sandbox", () => {
  it("binds the owner's workspace read-only and gives no network, as the policy says", async () => {
    const ws = join(s.dir, "ws");
    const r = await run("boxed", ["sh", "-c", `cat ${ws}/in.txt; echo x > ${ws}/out.txt && echo WROTE || echo read-only; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '`]);
    expect(r.out).toBe("inside\nread-only\nlo\n");
    expect(existsSync(join(ws, "out.txt"))).toBe(false);
  });

  it("does not show the host's pipes directory, where the next jobs' pipes wait", async () => {
    const dir = join(process.env.XDG_RUNTIME_DIR || "/dev/shm", `tether-agent-${process.getuid!()}`);
    expect(existsSync(dir), `the host made its pipes directory in ${dir}`).toBe(true);
    const r = await run("boxed", ["sh", "-c", `ls -A /dev/shm; test -e ${dir} && echo SEEN || echo hidden`]);
    expect(r.out).toBe("hidden\n");
  });

  it("hides the host's token: not in env, not in any /proc/*/environ, not in cwd, HOME or the repo", async () => {
    const script = [
      "env",
      "cat /proc/$PPID/environ /proc/$PPID/cmdline",
      "for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do cat $f; echo; done",
      'ls -la . "$HOME"; cat ./* "$HOME"/* 2>/dev/null',
      `cat .tether/local.json .tether/signing-key ${repo}/.tether/local.json ${repo}/.tether/signing-key 2>&1`,
      `ls ${repo}/wrangler.toml >/dev/null 2>&1 && echo REPO-VISIBLE || echo no-repo`,
      `cat ${join(s.dir, "decoy-secret.txt")} || echo no-decoy`,
    ].join("\n");
    const r = await run("boxed", ["sh", "-c", script]);
    const seen = r.out + r.err;
    for (const t of hostTokens) expect(seen).not.toContain(t);
    expect(seen).toContain("no-repo");
    expect(seen).toContain("no-decoy");
    expect(seen).not.toContain(DECOY);
    for (const f of [".tether/local.json", ".tether/signing-key"]) {
      if (existsSync(join(repo, f))) expect(seen).not.toContain(readFileSync(join(repo, f), "utf8").trim());
    }
  });

  it("cannot see a neighbouring job's environment, nor signal its host", async () => {
    const marker = `neighbour-${randomBytes(6).toString("hex")}`;
    const neighbour = await s.client.submit("boxed", { argv: ["sh", "-c", "echo up; sleep 1000"], env: { NEIGHBOUR_MARK: marker } });
    for await (const ev of s.client.watch(neighbour.id)) if (ev.type === "output") break;
    const snoop = await run("boxed", ["sh", "-c", "cat /proc/[0-9]*/environ | tr '\\0' '\\n'; kill -9 $PPID; echo kill=$?; kill -9 -1; echo still-here"]);
    expect(snoop.out).not.toContain(marker);
    expect(snoop.out).toContain("still-here");
    // The host is alive and takes the next job; the neighbour is untouched.
    expect((await run("boxed", ["true"])).end.status).toBe("succeeded");
    expect((await s.client.get(neighbour.id)).status).toBe("running");
    await s.client.cancel(neighbour.id);
    expect((await s.client.wait(neighbour.id)).status).toBe("cancelled");
  });
});
