/** Pipes for jobs' output: made ahead as open descriptors, with no name left that anyone could open. */
import { closeSync, fstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { closeBoth, PipeMaker, readEnd, stdinFile, type OutputPipe } from "../../worker-agent/src/job-pipes.js";

describe("pipes for a job's output", () => {
  let root: string;
  let logged: string[];
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "job-pipes-test-"));
    logged = [];
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("are FIFOs opened at both ends whose names are gone, more made as they are taken", async () => {
    const maker = new PipeMaker(root, (m) => logged.push(m));
    const [dir] = readdirSync(root);
    expect(dir).toMatch(new RegExp(`^${process.pid}-pipes-`));
    expect(readdirSync(join(root, dir!))).toEqual([]);
    // More than a batch holds: the last ones come from a batch made on the spot.
    const taken: OutputPipe[] = [];
    for (let i = 0; i < 50; i++) taken.push(...maker.take()!);
    const fds = taken.flatMap((p) => [p.read, p.write]);
    expect(new Set(fds).size).toBe(fds.length);
    for (const p of taken) expect(fstatSync(p.write).isFIFO()).toBe(true);
    await maker.idle();
    expect(readdirSync(join(root, dir!))).toEqual([]);
    for (const fd of fds) closeSync(fd);
    maker.close();
    expect(readdirSync(root)).toEqual([]);
    expect(maker.take()).toBeNull();
    expect(logged).toEqual([]);
  });

  it("come back after a spell when mkfifo fails, and the host hears when it does", () => {
    const maker = new PipeMaker(root, (m) => logged.push(m));
    const path = process.env.PATH;
    const taken: OutputPipe[] = [];
    try {
      // mkfifo gone for a while (as it is when descriptors run short): the pipes made run out.
      process.env.PATH = join(root, "nothing-here");
      let pair: [OutputPipe, OutputPipe] | null;
      while ((pair = maker.take())) taken.push(...pair);
      expect(taken.length).toBeGreaterThan(0);
      expect(logged).toEqual([expect.stringMatching(/^mkfifo failed: jobs get socket pairs .* until it works again$/)]);
      expect(maker.enabled).toBe(true);
      process.env.PATH = path;
      // Not tried again at once, so no job pays a failing fork; tried once the spell is over.
      expect(maker.take()).toBeNull();
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 1001 });
      const again = maker.take();
      expect(again).not.toBeNull();
      taken.push(...again!);
      expect(logged.at(-1)).toBe("mkfifo works again: jobs get pipes for stdout and stderr");
    } finally {
      vi.useRealTimers();
      process.env.PATH = path;
      taken.forEach(closeBoth);
      maker.close();
    }
  });

  it("carry what is written to the reading end, and its end once the writer closes", async () => {
    const maker = new PipeMaker(root, () => {});
    const [out, err] = maker.take()!;
    closeBoth(err);
    const stream = readEnd(out);
    const chunks: Buffer[] = [];
    stream.on("data", (b: Buffer) => chunks.push(b));
    writeSync(out.write, "hello\n");
    closeSync(out.write);
    await new Promise((resolve) => stream.once("close", resolve));
    expect(Buffer.concat(chunks).toString()).toBe("hello\n");
    maker.close();
  });

  it("give stdin as an open file read from its start, its name gone", () => {
    const maker = new PipeMaker(root, () => {});
    const fd = stdinFile(maker, "héllo\n")!;
    expect(fstatSync(fd).isFile()).toBe(true);
    expect(readFileSync(fd, "utf8")).toBe("héllo\n");
    closeSync(fd);
    expect(readdirSync(join(root, readdirSync(root)[0]!))).toEqual([]);
    maker.close();
    expect(stdinFile(maker, "x")).toBeNull();
    expect(stdinFile(null, "x")).toBeNull();
  });
});
