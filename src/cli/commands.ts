import { readFileSync } from "node:fs";
import { TetherClient, type WatchEvent } from "../client/sdk.js";
import type { Run } from "../protocol/run.js";
import { isTerminal } from "../protocol/run.js";
import { exitCodeOf } from "./exit-code.js";
import { writeTo } from "./output.js";
import { WaitReporter } from "./waiting.js";

export interface RunFlags {
  /** The submit the flags made (run-flags.ts), already checked; stdin is added here. */
  job: Record<string, unknown>;
  detach: boolean;
  stdinFile?: string;
  /** Print the run's result (JSON) on stdout once it ends. */
  result: boolean;
  /** Keep the job's stdin open and stream this terminal's stdin into it. */
  interactive: boolean;
}

/** Streams the job's output live and resolves to the exit code to end with. */
export async function runCommand(client: TetherClient, agent: string, flags: RunFlags): Promise<number> {
  const bytes = flags.stdinFile === undefined ? undefined : readFileSync(flags.stdinFile === "-" ? 0 : flags.stdinFile);
  if (flags.interactive && bytes !== undefined) throw new Error("--interactive streams this terminal's stdin; --stdin gives a file instead: use one");
  // The submit's stdin is a JSON string, so only UTF-8 travels in it unchanged; other bytes go
  // through the run's live input (exact, base64 on the wire) and then its end.
  const text = bytes === undefined ? undefined : utf8(bytes);
  const binary = bytes !== undefined && text === undefined ? bytes : undefined;
  const run = await client.submit(agent, {
    ...(flags.job as Parameters<TetherClient["submit"]>[1]),
    ...(text !== undefined && { stdin: text }),
    ...((flags.interactive || binary) && { stdin: { mode: "pipe" as const } }),
  });
  if (binary) await sendBytes(client, run.id, binary);
  if (flags.detach) {
    console.log(run.id);
    return 0;
  }
  // Ctrl-C cancels the job (and we keep streaming until it ends); a second one leaves at once.
  let interrupts = 0;
  const onInt = () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write(`\ntether: cancelling ${run.id} (Ctrl-C again to leave without waiting)\n`);
    client.cancel(run.id).catch((err: Error) => process.stderr.write(`tether: cancel failed: ${err.message}\n`));
  };
  process.on("SIGINT", onInt);
  if (flags.interactive) void streamStdin(client, run.id);
  try {
    const final = await follow(client, run.id);
    if (flags.result) console.log(JSON.stringify(final.result));
    return report(final);
  } finally {
    process.off("SIGINT", onInt);
  }
}

const utf8 = (b: Uint8Array): string | undefined => {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    return undefined;
  }
};

/** A file's bytes into the run's stdin in deliveries the edge takes (under LIMITS.liveInputBytes), then its end. */
async function sendBytes(client: TetherClient, runId: string, bytes: Uint8Array): Promise<void> {
  const CHUNK = 512 * 1024;
  for (let at = 0; at < bytes.length || at === 0; at += CHUNK) {
    const last = at + CHUNK >= bytes.length;
    const r = await client.input(runId, bytes.subarray(at, at + CHUNK), { eof: last });
    if (r.state === "rejected") throw new Error(`--stdin: the run took no input: ${r.reason}`);
    if (last) break;
  }
}

/** This terminal's stdin into the run's, in order, then its end. */
async function streamStdin(client: TetherClient, runId: string): Promise<void> {
  try {
    for await (const chunk of process.stdin) await client.input(runId, new Uint8Array(chunk as Buffer));
    await client.input(runId, new Uint8Array(), { eof: true });
  } catch (err) {
    process.stderr.write(`tether: input to ${runId} failed: ${(err as Error).message}\n`);
  }
}

/** Prints output as it arrives, and on stderr why the run waits while it does; returns the run in its terminal state. */
export async function follow(client: TetherClient, runId: string): Promise<Run> {
  let last: Run | null = null;
  const waiting = new WaitReporter(client);
  try {
    for await (const ev of client.watch(runId)) {
      waiting.onEvent(ev);
      last = (await show(ev)) ?? last;
    }
  } finally {
    waiting.stop();
  }
  return last ?? client.get(runId);
}

async function show(ev: WatchEvent): Promise<Run | null> {
  if (ev.type === "output") await writeTo(ev.stream, ev.data);
  return ev.type === "state" ? ev.run : null;
}

function report(run: Run): number {
  if (!isTerminal(run.status)) return 1;
  if (run.status !== "succeeded" && run.status !== "failed") process.stderr.write(`tether: run ${run.id} ${run.status.replace("_", " ")}${run.error ? `: ${run.error}` : ""}\n`);
  else if (run.status === "failed" && run.exit_code === null) process.stderr.write(`tether: ${run.error ?? "failed"}\n`);
  return exitCodeOf(run);
}

export async function logsCommand(client: TetherClient, runId: string, followFlag: boolean): Promise<number> {
  if (followFlag) {
    // A plain request first: an unknown run or an unreachable control plane is said at once,
    // where the watch would retry for a minute in case the connection comes back.
    await client.get(runId);
    await follow(client, runId);
    return 0;
  }
  await writeTo("stdout", await client.output(runId, { stream: "stdout" }));
  await writeTo("stderr", await client.output(runId, { stream: "stderr" }));
  return 0;
}
