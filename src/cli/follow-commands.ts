/** tether await and tether watch: a run already submitted, followed to its end from any terminal. */
import type { TetherClient, WatchEvent } from "../client/sdk.js";
import { isTerminal, type Run } from "../protocol/run.js";
import { exitCodeOf } from "./exit-code.js";
import { writeTo } from "./output.js";
import { paint, statusText } from "./style.js";
import { WaitReporter } from "./waiting.js";

/** Waits for the run to end and exits with its job's code (as tether run does); --json prints the run. */
export async function awaitCommand(client: TetherClient, runId: string, json: boolean): Promise<number> {
  // A plain read first: an unknown run or an unreachable plane is said at once, not after retries.
  let run = await client.get(runId);
  const waiting = new WaitReporter(client);
  try {
    for await (const ev of client.watch(runId, { output: false })) {
      waiting.onEvent(ev);
      if (ev.type === "state") run = ev.run;
    }
  } finally {
    waiting.stop();
  }
  if (json) console.log(JSON.stringify(run, null, 2));
  else process.stderr.write(`tether: run ${run.id} ${run.status.replace("_", " ")}${run.exit_code !== null ? ` (exit ${run.exit_code})` : ""}${run.error ? `: ${run.error}` : ""}\n`);
  return exitCodeOf(run);
}

/**
 * Follows a run live: its output to stdout and stderr as the job wrote it, and its events and
 * status changes as lines on stderr (so stdout stays the job's own). --json prints every event
 * as one JSON line on stdout instead (output bytes as text when UTF-8, else base64).
 */
export async function watchCommand(client: TetherClient, runId: string, json: boolean): Promise<number> {
  let last: Run = await client.get(runId);
  const dec = new TextDecoder("utf-8", { fatal: true });
  // Its waiting events are printed as event lines already (not with --json): the reporter adds what they do not say.
  const waiting = new WaitReporter(client, { eventsShown: !json });
  try {
    for await (const ev of client.watch(runId)) {
      waiting.onEvent(ev);
      await show(ev);
    }
  } finally {
    waiting.stop();
  }
  return isTerminal(last.status) ? exitCodeOf(last) : 1;

  async function show(ev: WatchEvent): Promise<void> {
    if (json) {
      if (ev.type === "output") {
        let text: string | null = null;
        try {
          text = dec.decode(ev.data);
        } catch {
          /* not UTF-8: base64 below */
        }
        console.log(JSON.stringify({ id: ev.id, type: "output", stream: ev.stream, attempt: ev.attempt, ...(text === null ? { data: Buffer.from(ev.data).toString("base64") } : { text }) }));
      } else console.log(JSON.stringify(ev));
    } else if (ev.type === "output") await writeTo(ev.stream, ev.data);
    else if (ev.type === "event") {
      const { type, at, ...rest } = ev.event;
      const detail = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
      process.stderr.write(`${paint("dim", at)} ${paint("bold", type)}${detail ? ` ${detail}` : ""}\n`);
    }
    if (ev.type === "state") {
      if (!json && ev.run.status !== last.status) process.stderr.write(`tether: ${ev.run.id} ${statusText(ev.run.status)}\n`);
      last = ev.run;
    }
  }
}
