/**
 * A BullMQ job scheduler for the schedule workload (`upsertJobScheduler`, its idiom for cron).
 *
 * BullMQ keeps one job per scheduler ahead: a delayed job for the next slot, made when the job
 * before it becomes active, with the id `repeat:<scheduler id>:<slot ms>` (job-scheduler.js,
 * updateJobScheduler-12.lua), so the id names the slot the job was made for. The scheduler's
 * `next` is that slot; it moves past a slot once the slot's job has been taken by the worker.
 * Removing the scheduler deletes the next job only while it is still delayed: one already due
 * runs, and makes no successor.
 */
import type { Job as BullJob, Queue } from "bullmq";
import { sleep } from "../clock.js";
import type { Job } from "../jobs.js";
import { EVERY_SECOND } from "../target.js";
import type { JobData, JobResult } from "./protocol.js";

/** How long past the last slot's time its job may take to be taken before the workload gives up. */
const LATE_LIMIT_MS = 30_000;
const POLL_MS = 100;

export interface ScheduledJob {
  job: BullJob<JobData, JobResult>;
  slotMs: number;
}

let made = 0;

export async function fireScheduler(queue: Queue<JobData, JobResult>, job: Job, slots: number): Promise<ScheduledJob[]> {
  const id = `bench-schedule-${++made}`;
  const prefix = `repeat:${id}:`;
  const slotOf = (jobId: string | undefined) => (jobId?.startsWith(prefix) ? Number(jobId.slice(prefix.length)) : NaN);
  const first = await queue.upsertJobScheduler(id, { pattern: EVERY_SECOND, tz: "UTC" }, { name: "job", data: { argv: job.argv } });
  const firstSlot = slotOf(first.id);
  if (!Number.isInteger(firstSlot)) throw new Error(`the scheduler's first job has the id ${first.id}, not ${prefix}<slot ms>`);
  const lastSlot = firstSlot + (slots - 1) * 1000;
  let removedAt: number;
  try {
    // No polling while the slots fire, so the bench's reads do not compete with the worker's.
    await sleep(Math.max(0, lastSlot - Date.now()));
    for (;;) {
      const next = (await queue.getJobScheduler(id))?.next ?? 0;
      if (next > lastSlot) break;
      if (Date.now() > lastSlot + LATE_LIMIT_MS) throw new Error(`the scheduler had not reached the slot ${new Date(lastSlot).toISOString()} by ${LATE_LIMIT_MS / 1000} s after it`);
      await sleep(POLL_MS);
    }
  } finally {
    await queue.removeJobScheduler(id);
    removedAt = Date.now();
  }
  // Each job was made when the one before it started, for the next whole second after that: none
  // for a slot later than a second after the removal. A slot with no job was skipped by BullMQ.
  const out: ScheduledJob[] = [];
  for (let slot = firstSlot; slot <= removedAt + 1000; slot += 1000) {
    const j = await queue.getJob(`${prefix}${slot}`);
    if (j) out.push({ job: j, slotMs: slot });
  }
  return out;
}
