/**
 * An attempt's output stream (tether-agent <-> the run's object), one WebSocket per attempt,
 * opened with the host's own credential. Output travels as binary batch frames; control
 * messages are JSON text frames. Unknown fields are dropped, as on the control socket.
 */
import { z } from "zod";
import { EndReason } from "./run.js";

export const StreamHello = z.object({ type: z.literal("hello"), pid: z.number().int().nullable() });

/** Sent after the last batch, so whoever sees the end has seen all output. */
export const StreamEnd = z.object({
  type: z.literal("end"),
  last_seq: z.number().int().min(0),
  reason: EndReason,
  exit_code: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  error: z.string().max(4096).nullable(),
  /** The JSON text the job wrote to its result path (at most 1 MiB), or why it could not be used. */
  result: z.string().max(1024 * 1024).nullable().optional(),
  result_error: z.string().max(1024).nullable().optional(),
});
export type StreamEnd = z.infer<typeof StreamEnd>;

/** Every live input up to `seq` is written to the process's stdin. */
export const InputAck = z.object({ type: z.literal("input_ack"), seq: z.number().int().min(0) });

/** Something the host read in what a runner printed (an assistant message, a tool use): a run event. */
export const StreamEvent = z.object({
  type: z.literal("event"),
  event: z.record(z.string().max(64), z.union([z.string().max(4096), z.number(), z.boolean(), z.null()])).refine((e) => typeof e.type === "string" && /^(assistant|tool_use)$/.test(e.type), "an event's type is assistant or tool_use"),
});

export const HostToRun = z.discriminatedUnion("type", [StreamHello, StreamEnd, StreamEvent, InputAck]);
export type HostToRun = z.infer<typeof HostToRun>;

export const RunToHost = z.discriminatedUnion("type", [
  /** Every chunk up to `seq` is stored. */
  z.object({ type: z.literal("ack"), seq: z.number().int().min(0) }),
  /** The end report is settled (used, or the run had moved on): the host can forget the attempt. */
  z.object({ type: z.literal("ended") }),
  /** This host may not stream this attempt: stop it, send nothing more. */
  z.object({ type: z.literal("superseded") }),
  /** Live input for the process's stdin, numbered per run: write each once, in order, then ack. */
  z.object({ type: z.literal("input"), seq: z.number().int().min(1), data: z.string(), eof: z.boolean() }),
]);
export type RunToHost = z.infer<typeof RunToHost>;
