/**
 * What a workload needs from a system under test. Tether and the BullMQ peer each implement it,
 * and every workload is written once against it, so both run the same code and the same jobs.
 */
import type { TetherClient } from "../src/client/sdk.js";
import type { Job } from "./jobs.js";

/** bullmq_durable: the same BullMQ on a redis-server that fsyncs an append-only file on every write. */
export type SystemName = "tether" | "bullmq" | "bullmq_durable";

export interface End {
  ok: boolean;
  /** The system's own word for how the job ended. */
  status: string;
}

export interface Digest {
  sha256: string;
  bytes: number;
}

/** The cron expression both systems fire the schedule workload on: every second, seconds field first. */
export const EVERY_SECOND = "* * * * * *";

/** One run a schedule made: the system's id for it and the slot (ms since the epoch) it was made for. */
export interface Fired {
  id: string;
  slotMs: number;
}

export interface Target {
  readonly name: SystemName;
  /** Resolves once the system has accepted the job, with its id. */
  submit(job: Job): Promise<string>;
  /** Submits the jobs in one call (Tether's batch submit, BullMQ's addBulk), resolving with their ids in order. */
  submitMany(jobs: Job[]): Promise<string[]>;
  /** Opens a watcher on the job and resolves when it sees the job end. */
  finished(id: string): Promise<End>;
  /** When a host or worker took the job (ms since the epoch, this machine's clock), read after it ended. */
  takenAt(id: string): Promise<number>;
  /** Submits the job and resolves when the client hears it end, the quickest way the system's client has. */
  run(job: Job): Promise<End>;
  /** The stdout the system stored, read back after the job ended. */
  stdout(id: string): Promise<Buffer>;
  /** Live stdout as it arrives, ending with the job; null when the system has no live output. */
  readonly watch: ((id: string, onData: (bytes: Uint8Array) => void) => Promise<End>) | null;
  /** Waits for the job's first line of stdout (it has started) and returns it. */
  firstLine(id: string): Promise<string>;
  /**
   * Starts `cat` with its stdin open for live input and sends it `count` deliveries, one after
   * another, returning how long each API call took to say the process was given the bytes; null
   * when the system has no live input for a running job.
   */
  readonly input: ((count: number) => Promise<number[]>) | null;
  /** Asks for the job to be cancelled; null when the system cannot. */
  readonly cancel: ((id: string) => Promise<void>) | null;
  /**
   * Schedules `job` on EVERY_SECOND (UTC) with the system's own scheduler, lets `slots` slots
   * fire, removes the schedule and returns every run it made, oldest slot first (the runs may
   * still be going); null when the system has no scheduler.
   */
  readonly schedule: ((job: Job, slots: number) => Promise<Fired[]>) | null;
  /** Resolves when every job submitted through this target has ended. */
  drained(): Promise<void>;
  /** The processes of the control plane (workerd; redis-server), whose CPU is counted. */
  controlPlanePids(): number[];
  /** The host processes that run the jobs (tether-agent; the BullMQ worker). */
  hostPids(): number[];
  /** A fresh host process of its own, with `slots` slots and its own queue, for memory figures. */
  isolated(slots: number): Promise<Isolated>;
  /** Like isolated, but every job runs in the host's sandbox; null when the system has none (or bubblewrap is missing). */
  readonly sandboxed: ((slots: number) => Promise<Isolated>) | null;
  /** Tether's SDK, for what only Tether has (the workspace index); absent elsewhere. */
  readonly sdk?: TetherClient;
  /** The agent the target submits to, where the system has agents. */
  readonly agent?: string;
}

export interface Isolated {
  target: Target;
  hostPid: number;
  stop(): Promise<void>;
}

/** A system: starts its parts and gives the target; stop() ends all of them. */
export interface System {
  name: SystemName;
  /** With profileDir, CPU profiles of its processes are written there (and timings suffer). */
  start(dir: string, profileDir?: string): Promise<Started>;
}

export interface Started {
  target: Target;
  versions: Record<string, string>;
  /** Profiles the control plane over one workload, where the system can. */
  profile?: { start(): Promise<void>; stop(label: string): Promise<string> };
  stop(): Promise<void>;
}
