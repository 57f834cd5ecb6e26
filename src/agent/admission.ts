/**
 * What a submit may do before it becomes a run, decided against the agent's queue in the same
 * turn as the insert: the cap on waiting runs, a dedup key's live run, a concurrency key's
 * strategy, and what the new run waits for. Nothing here writes; the caller commits the result.
 */
import type { AgentConfig } from "../protocol/agent-config.js";
import type { JobSpec } from "../protocol/run.js";
import type { Hosts } from "./hosts.js";
import type { RunEvent, RunRecord } from "./lifecycle/types.js";
import type { RunStore } from "./run-store.js";

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
    };

export function admit(store: RunStore, hosts: Hosts, config: AgentConfig, job: JobSpec, record: RunRecord): Admission {
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
  const c = record.concurrency;
  if (c) {
    const live = store.liveWithKey(c.key);
    const running = live.filter((r) => r.status === "running").length;
    if (c.strategy === "cancel_in_progress") {
      for (const r of live) cancels.push({ id: r.id, reason: `replaced by run ${record.id} (concurrency key ${JSON.stringify(c.key)}, cancel_in_progress)` });
    } else if (c.strategy === "cancel_newest" && live.length >= c.limit) {
      cancelSelf = `concurrency key ${JSON.stringify(c.key)} has ${live.length} live run(s), its limit, and its strategy is cancel_newest`;
    } else if (live.length >= c.limit) {
      events.push({ type: "waiting", reason: `waiting for concurrency key ${JSON.stringify(c.key)}: ${running} of ${c.limit} running, ${live.length - running} before it` });
    }
  }
  if (job.runner && !hosts.haveRunner(job.runner)) events.push({ type: "waiting", reason: `waiting for a host with the ${job.runner} runner` });
  if (Object.keys(record.requires).length && !hosts.haveLabels(record.requires)) {
    events.push({ type: "waiting", reason: `waiting for a host with ${Object.entries(record.requires).map(([k, v]) => `${k}=${v}`).join(", ")}` });
  }
  return { kind: "admitted", events, cancels, cancelSelf };
}
