/**
 * What a submit may do before it becomes a run, decided against the agent's queue in the same
 * turn as the insert: the cap on waiting runs, a dedup key's live run, a concurrency key's
 * strategy, a debounce key's waiting run, the submit rate, and what the new run waits for.
 * Nothing here writes; the caller commits the result and then takes the rate's tokens.
 */
import type { AgentConfig } from "../protocol/agent-config.js";
import type { JobSpec } from "../protocol/run.js";
import type { Hosts } from "./hosts.js";
import type { RunEvent, RunRecord } from "./lifecycle/types.js";
import type { RunStore } from "./run-store.js";
import type { BucketOf, SubmitRate } from "./rate-limit.js";

export type Admission =
  | { kind: "refused"; status: 409 | 429; slug: string; detail: string; retry_after_s?: number; existing_run_id?: string }
  /** A dedup key's live run, returned as the answer (on_duplicate: "return"). */
  | { kind: "existing"; run: RunRecord }
  | {
      kind: "admitted";
      /** Events the new run starts with: what it waits for. */
      events: RunEvent[];
      /** Live runs of its key the new run cancels (cancel_in_progress). */
      cancels: { id: string; reason: string }[];
      /** Why the new run is cancelled as soon as it is made (cancel_newest), or null. */
      cancelSelf: string | null;
      /** When the new run may start (later than now only when debounced). */
      readyAt: number;
      /** Its debounce key, or null. */
      debounce: string | null;
      /** The rate buckets the submit takes a token from, once committed. */
      buckets: BucketOf[];
    };

export function admit(store: RunStore, hosts: Hosts, rate: SubmitRate, config: AgentConfig, job: JobSpec, record: RunRecord, now: number): Admission {
  const c = record.concurrency;
  // The agent's bucket, and one per concurrency key (a lane is one) so a busy key cannot use up the agent's.
  const buckets: BucketOf[] = [];
  if (config.rate_limit) buckets.push({ name: "the agent", limit: config.rate_limit });
  if (c && config.key_rate_limit) buckets.push({ name: `concurrency key ${JSON.stringify(c.key)}`, limit: config.key_rate_limit });
  const limited = rate.check(buckets, now);
  if (limited) {
    const { name, limit } = buckets.find((b) => b.name === limited.limit)!;
    const setting = name === "the agent" ? "rate_limit" : "key_rate_limit";
    const detail = `submissions to ${name} are past the agent's ${setting} (${limit.per_s} per second, burst ${limit.burst}); retry in ${limited.retry_after_s} s`;
    return { kind: "refused", status: 429, slug: "rate-limited", detail, retry_after_s: limited.retry_after_s };
  }
  if (store.queuedCount() >= config.max_queued) {
    return { kind: "refused", status: 429, slug: "queue-full", detail: `agent ${record.agent} has ${config.max_queued} runs waiting, its max_queued; retry when some have started`, retry_after_s: 5 };
  }
  if (record.dedup_key !== null) {
    const live = store.liveWithDedup(record.dedup_key);
    if (live && job.on_duplicate === "return") return { kind: "existing", run: live };
    if (live) {
      return { kind: "refused", status: 409, slug: "duplicate", detail: `run ${live.id} with dedup_key ${JSON.stringify(record.dedup_key)} is ${live.status}; one live run per key`, existing_run_id: live.id };
    }
  }
  const events: RunEvent[] = [];
  const cancels: { id: string; reason: string }[] = [];
  let cancelSelf: string | null = null;
  if (c) {
    if (c.strategy === "cancel_in_progress") {
      for (const r of store.liveWithKey(c.key)) cancels.push({ id: r.id, reason: `replaced by run ${record.id} (concurrency key ${JSON.stringify(c.key)}, cancel_in_progress)` });
    } else {
      // A key with thousands waiting is counted, not read: a submit costs the same behind a long queue.
      const { live, running } = store.keyLoad(c.key);
      if (c.strategy === "cancel_newest" && live >= c.limit) {
        cancelSelf = `concurrency key ${JSON.stringify(c.key)} has ${live} live run(s), its limit, and its strategy is cancel_newest`;
      } else if (live >= c.limit) {
        events.push({ type: "waiting", reason: `waiting for concurrency key ${JSON.stringify(c.key)}: ${running} of ${c.limit} running, ${live - running} before it` });
      }
    }
  }
  let readyAt = now;
  const debounce = job.debounce ?? null;
  if (debounce) {
    // Only a run that has not started yet is replaced; a retry waiting out its delay has started.
    for (const id of store.waitingWithDebounce(debounce.key)) {
      cancels.push({ id, reason: `replaced by run ${record.id} (debounce key ${JSON.stringify(debounce.key)}): the newest of a burst runs` });
    }
    readyAt = now + debounce.ms;
    if (debounce.ms > 0) {
      events.push({ type: "waiting", reason: `debounced: ready at ${new Date(readyAt).toISOString()} unless a newer run with debounce key ${JSON.stringify(debounce.key)} replaces it`, ready_at: new Date(readyAt).toISOString() });
    }
  }
  const sr = job.start_rate;
  if (sr) {
    const starts = store.startsWithin(sr.key, sr.window_s * 1000, now);
    if (starts >= sr.limit) events.push({ type: "waiting", reason: `waiting for start_rate key ${JSON.stringify(sr.key)}: ${starts} starts in the last ${sr.window_s} s, its limit ${sr.limit}` });
  }
  if (job.runner && !hosts.haveRunner(job.runner)) events.push({ type: "waiting", reason: `waiting for a host with the ${job.runner} runner` });
  if (Object.keys(record.requires).length && !hosts.haveLabels(record.requires)) {
    events.push({ type: "waiting", reason: `waiting for a host with ${Object.entries(record.requires).map(([k, v]) => `${k}=${v}`).join(", ")}` });
  }
  return { kind: "admitted", events, cancels, cancelSelf, readyAt, debounce: debounce?.key ?? null, buckets };
}
