/** The command a waiting shell runs to become a job: the job gets exactly its environment and arguments, through the real /bin/sh. */
import { spawn } from "node:child_process";
import type { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { becomeJob } from "../../worker-agent/src/warm-process.js";

const STUB = 'cmd=$(cat <&3) && exec 3<&- && eval "$cmd"';

/** Runs `command` as the waiting shell would (started with only PATH), and returns what the job printed. */
async function asWarm(command: string): Promise<string> {
  const child = spawn("/bin/sh", ["-c", STUB], { env: { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "pipe", "inherit", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  (child.stdio[3] as Writable).end(command);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  expect(code).toBe(0);
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
      const command = becomeJob("/bin/cat", ["/proc/self/environ"], env);
      expect(command.startsWith("exec /usr/bin/env -i")).toBe(!exported);
      expect(environOf(await asWarm(command))).toEqual(env);
    });
  }

  it("passes arguments as given, quotes and all", async () => {
    const args = ["it's", "", "$HOME", "a b", "-n"];
    const out = await asWarm(becomeJob("/usr/bin/printf", ["%s|", ...args], {}));
    expect(out).toBe(args.map((a) => `${a}|`).join(""));
  });
});
