/**
 * Submissions per agent and per concurrency key as token buckets (agent config `rate_limit` and
 * `key_rate_limit`).
 * The buckets live in the agent object's memory, not its storage: a limit on how fast clients
 * may ask needs no durability, and a restart (or eviction) that refills them only lets one more
 * burst through. Every submit of the agent runs in this one object, so the count is exact.
 */
import type { RateLimit } from "../protocol/agent-config.js";

/** Buckets kept at most; a full bucket is the same as none, so those go first. */
const BUCKETS_MAX = 10_000;

interface Bucket extends RateLimit {
  tokens: number;
  at: number;
}

/** A bucket a submit draws on: its name, said in the refusal, and its limit. */
export interface BucketOf {
  name: string;
  limit: RateLimit;
}

export interface Limited {
  /** Which limit: "the agent" or `concurrency key "k"`. */
  limit: string;
  /** Whole seconds until the bucket has a token again (Retry-After). */
  retry_after_s: number;
}

export class SubmitRate {
  private readonly buckets = new Map<string, Bucket>();

  /** The first of the buckets with no token left, or null when every one has one. Takes nothing. */
  check(buckets: readonly BucketOf[], now: number): Limited | null {
    for (const { name, limit } of buckets) {
      const tokens = this.level(limit, name, now);
      if (tokens < 1) return { limit: name, retry_after_s: Math.max(1, Math.ceil((1 - tokens) / limit.per_s)) };
    }
    return null;
  }

  /** Takes a token from each bucket: called once the run is admitted, so a refused submit costs none. */
  take(buckets: readonly BucketOf[], now: number): void {
    for (const { name, limit } of buckets) {
      const tokens = this.level(limit, name, now) - 1;
      this.buckets.delete(name); // re-inserted last: the map's order is least recently used first
      this.buckets.set(name, { tokens, at: now, burst: limit.burst, per_s: limit.per_s });
    }
    if (this.buckets.size > BUCKETS_MAX) this.prune(now);
  }

  private level(limit: RateLimit, name: string, now: number): number {
    const b = this.buckets.get(name);
    if (!b) return limit.burst;
    return Math.min(limit.burst, b.tokens + (Math.max(0, now - b.at) / 1000) * limit.per_s);
  }

  private prune(now: number): void {
    for (const [name, b] of this.buckets) if (this.level(b, name, now) >= b.burst) this.buckets.delete(name);
    for (const name of this.buckets.keys()) {
      if (this.buckets.size <= BUCKETS_MAX) break;
      this.buckets.delete(name);
    }
  }
}
