/**
 * Messages on a host's control socket (tether-agent <-> its agent's object). Both sides parse
 * with plain objects, which drop fields they do not know: a newer peer may add optional fields
 * without breaking an older one. What would break it bumps the protocol version (./version.ts).
 */
import { z } from "zod";
import { HostId, RunId } from "./ids.js";
import { JobSpec, LabelKey } from "./run.js";
import { LIMITS } from "./limits.js";
import { StreamEnd } from "./stream.js";
import { STDERR, STDOUT } from "./frames.js";

const Attempt = z.number().int().min(1);

/** What a host tells of how it runs jobs; shown per host by the API. */
export const HostPolicySummary = z.object({
  security: z.string().max(32),
  ask: z.string().max(32),
  sandbox: z.string().max(32),
  network: z.boolean(),
  workspace_access: z.string().max(32),
});
export type HostPolicySummary = z.infer<typeof HostPolicySummary>;

export const HostHello = z.object({
  type: z.literal("hello"),
  /** Absent in the first protocol, which had no version. */
  protocol: z.number().int().min(1).max(1_000_000).optional(),
  host_id: HostId,
  hostname: z.string().max(255),
  version: z.string().max(64),
  slots: z.number().int().min(1).max(LIMITS.slotsMax),
  /**
   * Attempts this host still holds, so a reconnect keeps their leases; `exited` ones are only
   * delivering their last output and no longer take a slot; `fenced` ones it stopped itself
   * when it could not reach the edge.
   */
  running: z
    .array(z.object({ run_id: RunId, attempt: Attempt, exited: z.boolean().default(false), fenced: z.boolean().default(false) }))
    .max(LIMITS.slotsMax * 4)
    .default([]),
  policy: HostPolicySummary.optional(),
  /** Runners the host can run (their program is on its PATH): runs that need one go only to such hosts. */
  runners: z.array(z.string().max(32)).max(16).default([]),
  /** The owner's labels for this host (os=linux, gpu=true): runs that require labels go only to hosts that have them all. */
  labels: z
    .record(LabelKey, z.string().max(LIMITS.labelValueBytes))
    .refine((r) => Object.keys(r).length <= LIMITS.labelEntries, `a host has at most ${LIMITS.labelEntries} labels`)
    .default({}),
});

/** The host is shutting down: assign it nothing more. */
export const HostDrain = z.object({ type: z.literal("drain") });
/** The host leaves cleanly: whatever it still holds is lost now, not after the lease TTL. */
export const HostBye = z.object({ type: z.literal("bye") });

/** Credits: the host has this many more free slots. */
export const HostCredit = z.object({ type: z.literal("credit"), n: z.number().int().min(1).max(LIMITS.slotsMax) });

/**
 * The host could not take an assignment (no free slot after all); the edge queues it again. With
 * `ask`, its owner's policy does not allow the job but asks a person: the run waits for approval.
 */
export const HostReject = z.object({ type: z.literal("reject"), run_id: RunId, attempt: Attempt, reason: z.string().max(512), ask: z.string().max(512).optional() });

/**
 * An attempt that ended before it wrote anything or needed its output stream (protocol 3): its
 * end report on the control socket, with the process's start, so a short silent job costs no
 * stream and no object of its own. The edge answers `finished` once the decision is durable.
 */
export const HostFinished = StreamEnd.omit({ type: true, last_seq: true }).extend({
  type: z.literal("finished"),
  run_id: RunId,
  attempt: Attempt,
  pid: z.number().int().nullable(),
  /** Slots freed since the last credit (this attempt's among them): a credit message saved. */
  credit: z.number().int().min(1).max(LIMITS.slotsMax).optional(),
  /** All the attempt wrote, in order, when that is at most LIMITS.controlOutputBytes. */
  output: z
    .array(z.object({ stream: z.union([z.literal(STDOUT), z.literal(STDERR)]), data: z.string().max(Math.ceil(LIMITS.controlOutputBytes / 3) * 4) }))
    .max(64)
    .default([]),
});
export type HostFinished = z.infer<typeof HostFinished>;

export const HostMessage = z.discriminatedUnion("type", [HostHello, HostCredit, HostReject, HostDrain, HostBye, HostFinished]);

/** Each message's schema by its type: the edge parses a message with its own schema only (every job sends two). */
export const HOST_MESSAGES: Record<HostMessage["type"], z.ZodType<HostMessage>> = {
  hello: HostHello,
  credit: HostCredit,
  reject: HostReject,
  drain: HostDrain,
  bye: HostBye,
  finished: HostFinished,
};
export type HostMessage = z.infer<typeof HostMessage>;
export type HostHello = z.infer<typeof HostHello>;

export const Welcome = z.object({
  type: z.literal("welcome"),
  protocol: z.number().int(),
  agent: z.string(),
  host_id: HostId,
  /** How often to ping: well inside the lease TTL, so a live host never loses a lease. */
  ping_ms: z.number().int().min(100),
  /** A host that hears nothing from the edge for this long has lost its leases: it stops its jobs first. */
  lease_ttl_ms: z.number().int().min(1),
  /** Given once, when the host enrolled with the agent's enrollment token: it connects and streams with it from then on. */
  credential: z.string().optional(),
});

/** Stop this attempt now: its lease is gone (it was lost, timed out at the edge, or given to another). */
export const Revoke = z.object({ type: z.literal("revoke"), run_id: RunId, attempt: Attempt, reason: z.string() });
/** Cancel this attempt (SIGTERM, grace, SIGKILL) and report its end. */
export const CancelAttempt = z.object({ type: z.literal("cancel"), run_id: RunId, attempt: Attempt, reason: z.string() });

export const Assign = z.object({
  type: z.literal("assign"),
  run_id: RunId,
  attempt: Attempt,
  /** The job's own token, for the process only: it reads its run; it cannot stream or end anything. */
  job_token: z.string(),
  /**
   * The job with its timeout settled, and its command: a runner job is planned into one at the
   * edge. Fields a newer edge adds are dropped, not refused: a refused assignment would leave its
   * run held by a host that never starts it.
   */
  job: z.object(JobSpec.shape).extend({ timeout_ms: z.number().int().min(1), argv: JobSpec.shape.argv.unwrap() }),
  /** A person approved the job: a host whose policy asks runs it though its allowlist does not name it. */
  approved: z.boolean().optional(),
  /** The values of the secrets the job names, opened for this attempt only: in its env, and cut from its output. */
  secrets: z.record(z.string(), z.string()).optional(),
  /**
   * Runs were still waiting in the agent's queue when this one was given out: the host's next
   * job comes as soon as it frees a slot, so a process made ahead of it saves no wait and costs
   * an exec per job.
   */
  more_queued: z.boolean().optional(),
});
export type Assign = z.infer<typeof Assign>;

/** The end report sent with `finished` is settled (used, or the run had moved on): the host can forget the attempt. */
export const FinishedAck = z.object({
  type: z.literal("finished"),
  run_id: RunId,
  attempt: Attempt,
  /** Not taken here (its output would not fit what the run may store): send the output and the end on the output stream. */
  stream: z.boolean().optional(),
});

export const EdgeToHost = z.discriminatedUnion("type", [Welcome, Assign, Revoke, CancelAttempt, FinishedAck]);
export type EdgeToHost = z.infer<typeof EdgeToHost>;
