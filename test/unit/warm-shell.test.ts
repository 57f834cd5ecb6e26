/** The command a waiting shell runs to become a job: the job gets exactly its environment, arguments and stdin, through the real /bin/sh. */
import { spawn } from "node:child_process";
import type { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { becomeJob, WARM_SHELL_ARGS, warmScript } from "../../worker-agent/src/warm-process.js";

/** Runs the job as the waiting shell would (started with only PATH, its script on stdin), and returns what the job printed. */
async function asWarm(path: string, args: string[], env: Record<string, string>, stdin = ""): Promise<string> {
  const child = spawn("/bin/sh", WARM_SHELL_ARGS, { env: { PATH: "/usr/bin:/bin" }, stdio: ["pipe", "pipe", "inherit", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const failed: Error[] = [];
  child.stdin!.on("error", (err) => failed.push(err)).end(warmScript(path, args, env));
  // A job that does not read its stdin may be gone before it is written.
  (child.stdio[3] as Writable).on("error", () => undefined).end(stdin);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  expect(code).toBe(0);
  expect(failed).toEqual([]);
  return out;
}

const environOf = (out: string) => Object.fromEntries(out.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));

describe.runIf(process.platform === "linux")("becomeJob", () => {
  const cases: { what: string; env: Record<string, string>; exported: boolean }[] = [
    { what: "no variables at all: nothing of the shell's", env: {}, exported: true },
    { what: "quotes, newlines, spaces and = in values", env: { A: "it's", B: "two\nlines", C: " x = y ", PATH: "/nowhere" }, exported: true },
    { what: "PWD and PATH given by the job", env: { PWD: "/somewhere", PATH: "/usr/bin" }, exported: true },
    { what: "a name the shell cannot export goes through env", env: { "dotted.name": "1", GOOD: "2" }, exported: false },
  ];
  for (const { what, env, exported } of cases) {
    it(what, async () => {
      expect(becomeJob("/bin/cat", ["/proc/self/environ"], env).startsWith("exec /usr/bin/env -i")).toBe(!exported);
      expect(environOf(await asWarm("/bin/cat", ["/proc/self/environ"], env))).toEqual(env);
    });
  }

  it("passes arguments as given, quotes and all", async () => {
    const args = ["it's", "", "$HOME", "a b", "-n"];
    const out = await asWarm("/usr/bin/printf", ["%s|", ...args], {});
    expect(out).toBe(args.map((a) => `${a}|`).join(""));
  });

  it("gives the job the stdin kept for it and no descriptor of the shell's", async () => {
    const big = { BIG: "x\n".repeat(40_000) };
    expect(await asWarm("/bin/cat", [], big, "live input\n")).toBe("live input\n");
    // The job has the descriptors a job spawned directly has (this process's inherited ones included), no more.
    const fds = (out: string) => out.split("\n").filter(Boolean).map(Number).sort((a, b) => a - b);
    const direct = spawn("/bin/ls", ["/proc/self/fd"], { stdio: ["pipe", "pipe", "inherit"] });
    let listed = "";
    direct.stdout!.on("data", (d: Buffer) => (listed += d.toString()));
    await new Promise((resolve) => direct.on("close", resolve));
    expect(fds(await asWarm("/bin/ls", ["/proc/self/fd"], big))).toEqual(fds(listed));
  });
});
