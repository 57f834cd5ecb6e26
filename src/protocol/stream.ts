/**
 * An attempt's output stream (tether-agent <-> the run's object), one WebSocket per attempt.
 * Output travels as binary batch frames; control messages are JSON text frames.
 */
import { z } from "zod";
import { EndReason } from "./run.js";

export const StreamHello = z.strictObject({
  type: z.literal("hello"),
  host_id: z.string().max(128),
  pid: z.number().int().nullable(),
});

/** Sent after the last batch, so whoever sees the end has seen all output. */
export const StreamEnd = z.strictObject({
  type: z.literal("end"),
  last_seq: z.number().int().min(0),
  reason: EndReason,
  exit_code: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  error: z.string().max(4096).nullable(),
});
export type StreamEnd = z.infer<typeof StreamEnd>;

export const HostToRun = z.discriminatedUnion("type", [StreamHello, StreamEnd]);
export type HostToRun = z.infer<typeof HostToRun>;

export const RunToHost = z.discriminatedUnion("type", [
  /** Every chunk up to `seq` is stored. */
  z.strictObject({ type: z.literal("ack"), seq: z.number().int().min(0) }),
  z.strictObject({ type: z.literal("cancel"), reason: z.string() }),
  /** The end report is stored; the host can forget the attempt. */
  z.strictObject({ type: z.literal("ended") }),
  /** This attempt is no longer the run's current one: stop it, send nothing more. */
  z.strictObject({ type: z.literal("superseded") }),
]);
export type RunToHost = z.infer<typeof RunToHost>;
