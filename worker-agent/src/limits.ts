/**
 * The policy's limits on one job. Wall time and output are counted here as they pass; the
 * number of processes and their memory are watched in /proc, because the kernel's own per-
 * process limits do not fit: RLIMIT_NPROC counts every process of the user (and root is
 * exempt), and RLIMIT_AS breaks runtimes that reserve address space up front (V8). So a
 * fork bomb is stopped within one look (every WATCH_MS), not at its first fork.
 */
import type { Policy } from "./policy.js";
import type { Containment } from "./procs.js";

const WATCH_MS = 50;
const PAGE = 4096;

/** The job's own timeout or the policy's, whichever is shorter, and the error if the policy's. */
export function wallTime(policy: Policy, jobTimeoutMs: number): { ms: number; error: string | null } {
  if (policy.max_wall_ms !== null && policy.max_wall_ms < jobTimeoutMs) {
    return { ms: policy.max_wall_ms, error: `limit max_wall_ms: the host allows ${policy.max_wall_ms} ms per job` };
  }
  return { ms: jobTimeoutMs, error: null };
}

/** Counts the job's output; past the limit nothing more is forwarded. */
export class OutputBudget {
  private used = 0;

  constructor(private readonly max: number | null) {}

  /** The part of `chunk` still within the budget, and whether the budget is now exceeded. */
  take(chunk: Buffer): { allowed: Buffer; exceeded: boolean } {
    if (this.max === null) return { allowed: chunk, exceeded: false };
    const room = Math.max(0, this.max - this.used);
    this.used += chunk.byteLength;
    if (chunk.byteLength <= room) return { allowed: chunk, exceeded: false };
    return { allowed: chunk.subarray(0, room), exceeded: true };
  }

  get error(): string {
    return `limit max_output_bytes: the job wrote more than ${this.max} bytes`;
  }
}

/** Watches the job's processes until stopped; calls `onLimit` once, with which limit. */
export function watchProcesses(policy: Policy, contain: Containment, onLimit: (error: string) => void): () => void {
  const maxProcs = policy.max_processes;
  const maxBytes = policy.max_memory_mb === null ? null : policy.max_memory_mb * 1024 * 1024;
  if (maxProcs === null && maxBytes === null) return () => {};
  // In the sandbox, bwrap and its init are in the tree but are not the job's.
  const overhead = contain.sandboxed ? 2 : 0;
  const timer = setInterval(() => {
    const procs = contain.members();
    if (!procs.length) return;
    const count = procs.length - overhead;
    if (maxProcs !== null && count > maxProcs) return hit(`limit max_processes: the job had ${count} processes, the host allows ${maxProcs}`);
    const rss = procs.reduce((n, p) => n + p.rssPages * PAGE, 0);
    if (maxBytes !== null && rss > maxBytes) hit(`limit max_memory_mb: the job used ${Math.round(rss / 1048576)} MB, the host allows ${policy.max_memory_mb}`);
  }, WATCH_MS);
  timer.unref();
  const hit = (error: string) => {
    clearInterval(timer);
    onLimit(error);
  };
  return () => clearInterval(timer);
}
