/**
 * A run's `prefer` labels order the hosts that can take it: of the hosts with a free slot now,
 * the one matching most of them gets it. A preference never holds a run back; with no better
 * host free, the host asking takes it.
 */
import { hasLabels, hostOf, type HostInfo } from "./hosts.js";
import type { RunRecord } from "./lifecycle/types.js";

export function preferredHost(run: RunRecord, asking: WebSocket, free: readonly WebSocket[]): WebSocket {
  const prefer = Object.entries(run.prefer ?? {});
  const score = (h: HostInfo) => prefer.filter(([k, v]) => h.labels?.[k] === v).length;
  let best = asking;
  let bestScore = score(hostOf(asking)!);
  for (const ws of free) {
    const h = hostOf(ws);
    if (!h || ws === asking || h.credit <= 0 || h.draining || !canTake(h, run)) continue;
    const s = score(h);
    if (s > bestScore) (best = ws), (bestScore = s);
  }
  return best;
}

/** What nextQueued checked for the asking host, for another: its labels, its runners, approval. */
function canTake(h: HostInfo, run: RunRecord): boolean {
  if (!hasLabels(h.labels, run.requires)) return false;
  if (run.runner && !h.runners?.includes(run.runner)) return false;
  return run.approval?.state !== "approved" || (h.policy?.ask ?? "off") !== "off";
}
