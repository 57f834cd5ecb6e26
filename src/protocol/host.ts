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
  /**
   * Attempts this host still holds, so a reconnect keeps their leases; `exited` ones are only
   * delivering their last output and no longer take a slot.
   */
  running: z
    .array(z.strictObject({ run_id: RunId, attempt: z.number().int().min(1), exited: z.boolean().default(false) }))
    .max(LIMITS.slotsMax * 4)
    .default([]),
});

/** The host is shutting down: assign it nothing more. */
export const HostDrain = z.strictObject({ type: z.literal("drain") });
/** The host leaves cleanly: whatever it still holds is lost now, not after the lease TTL. */
export const HostBye = z.strictObject({ type: z.literal("bye") });

/** Credits: the host has this many more free slots. */
export const HostCredit = z.strictObject({ type: z.literal("credit"), n: z.number().int().min(1).max(LIMITS.slotsMax) });

/** The host could not take an assignment (no free slot after all); the edge queues it again. */
export const HostReject = z.strictObject({
  type: z.literal("reject"),
  run_id: RunId,
  attempt: z.number().int().min(1),
  reason: z.string().max(512),
});

export const HostMessage = z.discriminatedUnion("type", [HostHello, HostCredit, HostReject, HostDrain, HostBye]);
export type HostMessage = z.infer<typeof HostMessage>;

export const Welcome = z.strictObject({
  type: z.literal("welcome"),
  agent: z.string(),
  host_id: HostId,
  /** How often to ping: well inside the lease TTL, so a live host never loses a lease. */
  ping_ms: z.number().int().min(100),
});

/** Stop this attempt now: its lease is gone (it was lost, timed out at the edge, or given to another). */
export const Revoke = z.strictObject({ type: z.literal("revoke"), run_id: RunId, attempt: z.number().int().min(1), reason: z.string() });
/** Cancel this attempt (SIGTERM, grace, SIGKILL); also sent on the attempt's own stream. */
export const CancelAttempt = z.strictObject({ type: z.literal("cancel"), run_id: RunId, attempt: z.number().int().min(1), reason: z.string() });

export const Assign = z.strictObject({
  type: z.literal("assign"),
  run_id: RunId,
  attempt: z.number().int().min(1),
  /** Run token: authenticates this attempt's output stream and is given to the process. */
  token: z.string(),
  job: JobSpec.extend({ timeout_ms: z.number().int().min(1) }),
});
export type Assign = z.infer<typeof Assign>;

export const EdgeToHost = z.discriminatedUnion("type", [Welcome, Assign, Revoke, CancelAttempt]);
export type EdgeToHost = z.infer<typeof EdgeToHost>;
