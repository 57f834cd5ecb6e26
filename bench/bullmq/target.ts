/** BullMQ as a system under test: a Queue to add to, QueueEvents to wait on, a Relay to cancel through. */
import { Queue, QueueEvents, Relay, type Job as BullJob } from "bullmq";
import { sleep } from "../clock.js";
import type { Job } from "../jobs.js";
import type { End, Fired, Isolated, SystemName, Target } from "../target.js";
import { fireScheduler } from "./schedule.js";
import { cancelTopic, STDOUT_TAG, type JobData, type JobResult } from "./protocol.js";

export interface OpenQueue {
  name: string;
  queue: Queue<JobData, JobResult>;
  events: QueueEvents;
  relay: Relay;
  close(): Promise<void>;
}

export async function openQueue(port: number, name: string): Promise<OpenQueue> {
  const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
  const queue = new Queue<JobData, JobResult>(name, { connection });
  queue.setMaxListeners(0); // every job.waitUntilFinished listens for the queue closing
  const events = new QueueEvents(name, { connection });
  const relay = new Relay({ connection });
  const onError = (err: Error) => process.stderr.write(`bullmq ${name}: ${err.message}\n`);
  queue.on("error", onError);
  events.on("error", onError);
  relay.on("error", onError);
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), relay.waitUntilReady()]);
  let closed: Promise<void> | null = null;
  return {
    name,
    queue,
    events,
    relay,
    close: () => (closed ??= Promise.allSettled([queue.close(), events.close(), relay.close()]).then(() => undefined)),
  };
}

const LOG_PAGE = 1000;

export class BullTarget implements Target {
  readonly name: SystemName;
  private readonly jobs = new Map<string, BullJob<JobData, JobResult>>();
  private submitted = 0;

  constructor(private readonly p: OpenQueue & { system: SystemName; planePids: () => number[]; hostPids: () => number[]; isolated: (slots: number) => Promise<Isolated> }) {
    this.name = p.system;
  }

  async submit(job: Job): Promise<string> {
    const j = await this.p.queue.add("job", { argv: job.argv });
    this.submitted++;
    this.jobs.set(j.id!, j);
    return j.id!;
  }

  async submitMany(jobs: Job[]): Promise<string[]> {
    const made = await this.p.queue.addBulk(jobs.map((j) => ({ name: "job", data: { argv: j.argv } })));
    this.submitted += made.length;
    for (const j of made) this.jobs.set(j.id!, j);
    return made.map((j) => j.id!);
  }

  /** BullMQ's way: add, then wait for its completed event (QueueEvents listens before the add). */
  async run(job: Job): Promise<End> {
    return this.finished(await this.submit(job));
  }

  /** BullMQ's processedOn: when the worker moved the job to active. */
  async takenAt(id: string): Promise<number> {
    const job = await this.p.queue.getJob(id);
    if (!job?.processedOn) throw new Error(`job ${id} was never taken`);
    return job.processedOn;
  }

  async finished(id: string): Promise<End> {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`unknown job ${id}`);
    try {
      const r = await job.waitUntilFinished(this.p.events);
      return { ok: r.exit_code === 0, status: r.exit_code === 0 ? "completed" : `exit ${r.exit_code ?? r.signal}` };
    } catch (err) {
      return { ok: false, status: `failed: ${(err as Error).message}` };
    }
  }

  async stdout(id: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let start = 0; ; start += LOG_PAGE) {
      const { logs, count } = await this.p.queue.getJobLogs(id, start, start + LOG_PAGE - 1);
      for (const row of logs) if (row.startsWith(STDOUT_TAG)) parts.push(Buffer.from(row.slice(STDOUT_TAG.length), "base64"));
      if (start + LOG_PAGE >= count) break;
    }
    return Buffer.concat(parts);
  }

  /** BullMQ has no push of a job's log rows to a client: they can only be polled. */
  readonly watch = null;

  async firstLine(id: string): Promise<string> {
    for (;;) {
      const { logs } = await this.p.queue.getJobLogs(id, 0, 49);
      const text = logs.filter((r) => r.startsWith(STDOUT_TAG)).map((r) => Buffer.from(r.slice(STDOUT_TAG.length), "base64").toString()).join("");
      const nl = text.indexOf("\n");
      if (nl >= 0) return text.slice(0, nl);
      await sleep(2);
    }
  }

  /** The BullMQ worker runs jobs as plain child processes. */
  readonly sandboxed = null;

  /** BullMQ gives a running job no input: its data is fixed when it is added. */
  readonly input = null;

  readonly cancel = async (id: string): Promise<void> => {
    await this.p.relay.publish(cancelTopic(this.p.name), { jobId: id });
  };

  readonly schedule = async (job: Job, slots: number): Promise<Fired[]> => {
    const made = await fireScheduler(this.p.queue, job, slots);
    // They count as submitted, so drained() waits for them too.
    this.submitted += made.length;
    for (const m of made) this.jobs.set(m.job.id!, m.job);
    return made.map((m) => ({ id: m.job.id!, slotMs: m.slotMs }));
  };

  async drained(): Promise<void> {
    for (;;) {
      const c = await this.p.queue.getJobCounts("completed", "failed");
      if ((c.completed ?? 0) + (c.failed ?? 0) >= this.submitted) return;
      await sleep(20);
    }
  }

  controlPlanePids(): number[] {
    return this.p.planePids();
  }

  hostPids(): number[] {
    return this.p.hostPids();
  }

  isolated(slots: number): Promise<Isolated> {
    return this.p.isolated(slots);
  }
}
