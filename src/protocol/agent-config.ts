import { z } from "zod";
import { LIMITS } from "./limits.js";
import { DEFAULT_RETRY, RetryPolicy } from "./run.js";

export const RateLimit = z.strictObject({
  per_s: z.number().positive().max(100_000),
  burst: z.number().int().min(1).max(100_000),
});
export type RateLimit = z.infer<typeof RateLimit>;

/** Per-agent settings; runs take these where they leave a field out. */
export const AgentConfig = z.strictObject({
  /** A lease whose host was silent this long is lost. */
  lease_ttl_ms: z.number().int().min(1000).max(3600 * 1000),
  default_timeout_ms: z.number().int().min(1).max(LIMITS.timeoutMsMax),
  retry: RetryPolicy,
  /** Output of a run past this many bytes is not stored; the run goes on and an event says so. */
  max_output_bytes: z.number().int().min(1024).max(LIMITS.maxOutputBytes),
  /** Ended runs and their output are removed this many days after they end. */
  retention_days: z.number().int().min(1).max(3650),
  /** A run waiting for approval this long ends cancelled. */
  approval_timeout_ms: z.number().int().min(1000).max(30 * 24 * 3600 * 1000),
  /** Runs of the agent running at once, whatever their hosts' slots; null: as many as there are slots. */
  max_concurrent: z.number().int().min(1).max(100_000).nullable(),
  /** Runs waiting (queued or awaiting approval); a submit past it is a 429. */
  max_queued: z.number().int().min(1).max(1_000_000),
  /** A repeated idempotency key within this many seconds returns the first run. */
  idempotency_ttl_s: z.number().int().min(60).max(30 * 24 * 3600),
  /**
   * Submissions to the agent as a token bucket: `burst` at once, refilled at `per_s` a second.
   * Past it a submit is a 429 with Retry-After; null: no limit.
   */
  rate_limit: RateLimit.nullable(),
  /** The same, for each concurrency key (or lane) on its own: one busy key cannot crowd out the rest. */
  key_rate_limit: RateLimit.nullable(),
});
export type AgentConfig = z.infer<typeof AgentConfig>;

export const DEFAULT_AGENT_CONFIG: AgentConfig = {
  lease_ttl_ms: 15_000,
  default_timeout_ms: LIMITS.timeoutMsDefault,
  retry: DEFAULT_RETRY,
  max_output_bytes: LIMITS.maxOutputBytes,
  retention_days: 30,
  approval_timeout_ms: 3600 * 1000,
  max_concurrent: null,
  max_queued: 10_000,
  idempotency_ttl_s: 24 * 3600,
  rate_limit: null,
  key_rate_limit: null,
};

/** What a client may send to change an agent's settings: any subset. */
export const AgentConfigPatch = z.strictObject({
  lease_ttl_ms: AgentConfig.shape.lease_ttl_ms.optional(),
  default_timeout_ms: AgentConfig.shape.default_timeout_ms.optional(),
  retry: RetryPolicy.partial().optional(),
  max_output_bytes: AgentConfig.shape.max_output_bytes.optional(),
  retention_days: AgentConfig.shape.retention_days.optional(),
  approval_timeout_ms: AgentConfig.shape.approval_timeout_ms.optional(),
  max_concurrent: AgentConfig.shape.max_concurrent.optional(),
  max_queued: AgentConfig.shape.max_queued.optional(),
  idempotency_ttl_s: AgentConfig.shape.idempotency_ttl_s.optional(),
  rate_limit: AgentConfig.shape.rate_limit.optional(),
  key_rate_limit: AgentConfig.shape.key_rate_limit.optional(),
});
export type AgentConfigPatch = z.infer<typeof AgentConfigPatch>;

export function applyConfig(base: AgentConfig, patch: AgentConfigPatch): AgentConfig {
  return {
    lease_ttl_ms: patch.lease_ttl_ms ?? base.lease_ttl_ms,
    default_timeout_ms: patch.default_timeout_ms ?? base.default_timeout_ms,
    retry: { ...base.retry, ...patch.retry },
    max_output_bytes: patch.max_output_bytes ?? base.max_output_bytes,
    retention_days: patch.retention_days ?? base.retention_days,
    approval_timeout_ms: patch.approval_timeout_ms ?? base.approval_timeout_ms,
    max_concurrent: patch.max_concurrent === undefined ? base.max_concurrent : patch.max_concurrent,
    max_queued: patch.max_queued ?? base.max_queued,
    idempotency_ttl_s: patch.idempotency_ttl_s ?? base.idempotency_ttl_s,
    rate_limit: patch.rate_limit === undefined ? base.rate_limit : patch.rate_limit,
    key_rate_limit: patch.key_rate_limit === undefined ? base.key_rate_limit : patch.key_rate_limit,
  };
}

/** A change on top of the changes made before: fields sent replace, retry fields one by one. */
export function mergePatch(before: AgentConfigPatch, change: AgentConfigPatch): AgentConfigPatch {
  return { ...before, ...change, retry: { ...before.retry, ...change.retry } };
}
