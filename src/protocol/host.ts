/** Messages on a host's control socket (tether-agent <-> its agent's object). */
import { z } from "zod";
import { HostId, RunId } from "./ids.js";
import { JobSpec } from "./run.js";
import { LIMITS } from "./limits.js";

export const HostHello = z.strictObject({
  type: z.literal("hello"),
  host_id: HostId,
  hostname: z.string().max(255),
  version: z.string().max(64),
  slots: z.number().int().min(1).max(LIMITS.slotsMax),
  /** Attempts this host still runs, so a reconnect keeps them counted against its slots. */
  running: z.array(z.strictObject({ run_id: RunId, attempt: z.number().int().min(1) })).max(LIMITS.slotsMax).default([]),
});

/** Credits: the host has this many more free slots. */
export const HostCredit = z.strictObject({ type: z.literal("credit"), n: z.number().int().min(1).max(LIMITS.slotsMax) });

/** The host could not take an assignment (no free slot after all); the edge queues it again. */
export const HostReject = z.strictObject({
  type: z.literal("reject"),
  run_id: RunId,
  attempt: z.number().int().min(1),
  reason: z.string().max(512),
});

export const HostMessage = z.discriminatedUnion("type", [HostHello, HostCredit, HostReject]);
export type HostMessage = z.infer<typeof HostMessage>;

export const Welcome = z.strictObject({ type: z.literal("welcome"), agent: z.string(), host_id: HostId });

export const Assign = z.strictObject({
  type: z.literal("assign"),
  run_id: RunId,
  attempt: z.number().int().min(1),
  /** Run token: authenticates this attempt's output stream and is given to the process. */
  token: z.string(),
  job: JobSpec.extend({ timeout_ms: z.number().int().min(1) }),
});
export type Assign = z.infer<typeof Assign>;

export const EdgeToHost = z.discriminatedUnion("type", [Welcome, Assign]);
export type EdgeToHost = z.infer<typeof EdgeToHost>;
