/** What every workload is given: the run's sizes, its temp dir, the payload file, a progress line. */
import type { Payload } from "./payload.js";

export interface Sizes {
  dispatchJobs: number;
  roundtripJobs: number;
  throughputJobs: number;
  outputBytes: number;
  outputReps: number;
  liveMs: number;
  cancelJobs: number;
  /** Live input deliveries to one running job, after a few warm-up ones. */
  inputs: number;
  /** Stamp jobs on each of the sandboxed and the plain host. */
  sandboxJobs: number;
  bigJobBytes: number;
  /** Slots of the every-second schedule measured, after its warm-up slots. */
  scheduleSlots: number;
  /** Runs in the workspace the index's filtered page is read from, and seconds of 100 runs/s for its lag. */
  indexRuns: number;
  indexLagSeconds: number;
  /** Runs queued behind 100 full concurrency keys while dispatch is measured beside them. */
  keyedRuns: number;
}

export const FULL: Sizes = {
  dispatchJobs: 500,
  roundtripJobs: 300,
  throughputJobs: 2000,
  outputBytes: 200_000_000,
  outputReps: 3,
  liveMs: 5000,
  cancelJobs: 100,
  inputs: 300,
  sandboxJobs: 200,
  bigJobBytes: 1_000_000_000,
  scheduleSlots: 30,
  indexRuns: 10_000,
  indexLagSeconds: 10,
  keyedRuns: 10_000,
};

export const QUICK: Sizes = {
  dispatchJobs: 100,
  roundtripJobs: 100,
  throughputJobs: 500,
  outputBytes: 50_000_000,
  outputReps: 1,
  liveMs: 2000,
  cancelJobs: 20,
  inputs: 100,
  sandboxJobs: 50,
  bigJobBytes: 250_000_000,
  scheduleSlots: 10,
  indexRuns: 2_000,
  indexLagSeconds: 3,
  keyedRuns: 2_000,
};

export interface Ctx {
  sizes: Sizes;
  dir: string;
  payload: Payload;
  /** Slots on the host, in all. */
  slots: number;
  progress(msg: string): void;
}

/** MB is 10^6 bytes throughout. */
export const MB = 1_000_000;
