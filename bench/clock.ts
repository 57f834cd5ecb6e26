/**
 * One clock for the bench and the jobs: the wall clock (CLOCK_REALTIME), which `date +%s%N`
 * reads inside a job. Node's Date.now() has only millisecond resolution, so the bench reads the
 * monotonic high-resolution clock and adds an offset found at a millisecond edge of Date.now().
 */

let offsetNs = 0n;

/** Finds the offset anew; call it before each workload, so drift never builds up. */
export function calibrate(): void {
  const start = Date.now();
  let now = start;
  let hr = 0n;
  // Spin to the next millisecond edge: there Date.now() * 1e6 is the wall clock to within the loop's step.
  while (now === start) {
    hr = process.hrtime.bigint();
    now = Date.now();
  }
  offsetNs = BigInt(now) * 1_000_000n - hr;
}

/** Wall clock in nanoseconds since the epoch. */
export function wallNs(): bigint {
  return process.hrtime.bigint() + offsetNs;
}

/** Milliseconds from `fromNs` (a wallNs() reading or a job's `date +%s%N`) to `toNs`. */
export function msBetween(fromNs: bigint, toNs: bigint): number {
  return Number(toNs - fromNs) / 1e6;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

calibrate();
