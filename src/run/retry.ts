import type { RetryPolicy } from "../protocol/run.js";

export type Outcome = "lost" | "failed" | "timed_out";

/** The wait before attempt `attempt + 1`, or null when the policy does not try again. */
export function retryDelay(policy: RetryPolicy, attempt: number, outcome: Outcome): number | null {
  if (attempt >= policy.max_attempts || !policy.on.includes(outcome)) return null;
  const factor = policy.backoff === "exponential" ? 2 ** (attempt - 1) : 1;
  return Math.min(policy.max_delay_ms, policy.delay_ms * factor);
}
