/** Tether as a system under test: the SDK against the local stack. */
import type { TetherClient } from "../../src/client/sdk.js";
import { isTerminal } from "../../src/protocol/run.js";
import { sleep } from "../clock.js";
import type { Job } from "../jobs.js";
import type { End, Fired, Isolated, Target } from "../target.js";
import { fireSchedule } from "./schedule.js";

export interface TetherParts {
  client: TetherClient;
  agent: string;
  planePids: () => number[];
  hostPids: () => number[];
  isolated: (slots: number) => Promise<Isolated>;
  /** A host whose jobs run in bubblewrap, or null where it is not installed. */
  sandboxed: ((slots: number) => Promise<Isolated>) | null;
}

export class TetherTarget implements Target {
  readonly name = "tether" as const;

  constructor(private readonly p: TetherParts) {}

  get agent(): string {
    return this.p.agent;
  }

  async submit(job: Job): Promise<string> {
    return (await this.p.client.submit(this.p.agent, { argv: job.argv })).id;
  }

  async submitMany(jobs: Job[]): Promise<string[]> {
    const results = await this.p.client.submitMany(this.p.agent, jobs.map((j) => ({ argv: j.argv })));
    return results.map((r) => {
      if ("problem" in r) throw new Error(`a submit of the batch was refused: ${r.problem.detail}`);
      return r.run.id;
    });
  }

  /** The SDK's run: the submit's answer waits for the end, one call where submit and wait are two. */
  async run(job: Job): Promise<End> {
    const run = await this.p.client.run(this.p.agent, { argv: job.argv });
    return { ok: run.status === "succeeded", status: run.status };
  }

  /** The run's start is when its agent's object gave it to a host. */
  async takenAt(id: string): Promise<number> {
    const run = await this.p.client.get(id);
    if (!run.started_at) throw new Error(`run ${id} never started`);
    return Date.parse(run.started_at);
  }

  async finished(id: string): Promise<End> {
    const run = await this.p.client.wait(id);
    return { ok: run.status === "succeeded", status: run.status };
  }

  async stdout(id: string): Promise<Buffer> {
    return Buffer.from(await this.p.client.output(id, { stream: "stdout" }));
  }

  readonly watch = async (id: string, onData: (bytes: Uint8Array) => void): Promise<End> => {
    for await (const ev of this.p.client.watch(id)) {
      if (ev.type === "output" && ev.stream === "stdout") onData(ev.data);
      else if (ev.type === "state" && isTerminal(ev.run.status)) return { ok: ev.run.status === "succeeded", status: ev.run.status };
    }
    throw new Error(`the watch of ${id} ended before the run did`);
  };

  async firstLine(id: string): Promise<string> {
    const abort = new AbortController();
    let text = "";
    try {
      for await (const ev of this.p.client.watch(id, { signal: abort.signal })) {
        if (ev.type === "output" && ev.stream === "stdout") {
          text += Buffer.from(ev.data).toString();
          const nl = text.indexOf("\n");
          if (nl >= 0) return text.slice(0, nl);
        } else if (ev.type === "state" && isTerminal(ev.run.status)) {
          throw new Error(`run ${id} ended (${ev.run.status}) before it wrote a line`);
        }
      }
      throw new Error(`the watch of ${id} ended before it wrote a line`);
    } finally {
      abort.abort();
    }
  }

  readonly input = async (count: number): Promise<number[]> => {
    const run = await this.p.client.submit(this.p.agent, { argv: ["cat"], stdin: { mode: "pipe" } });
    const ms: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const a = await this.p.client.input(run.id, `${i}\n`);
      if (a.state !== "delivered") throw new Error(`live input ${i} to ${run.id} was ${a.state}`);
      ms.push(performance.now() - t0);
    }
    await this.p.client.input(run.id, "", { eof: true });
    const end = await this.p.client.wait(run.id);
    if (end.status !== "succeeded") throw new Error(`the live-input job ${run.id} ended ${end.status}`);
    return ms;
  };

  readonly cancel = async (id: string): Promise<void> => {
    await this.p.client.cancel(id);
  };

  readonly schedule = (job: Job, slots: number): Promise<Fired[]> => fireSchedule(this.p.client, this.p.agent, job, slots);

  async drained(): Promise<void> {
    for (;;) {
      const a = await this.p.client.getAgent(this.p.agent);
      if (a.queued === 0 && a.running === 0) return;
      await sleep(20);
    }
  }

  controlPlanePids(): number[] {
    return this.p.planePids();
  }

  hostPids(): number[] {
    return this.p.hostPids();
  }

  get sandboxed(): ((slots: number) => Promise<Isolated>) | null {
    return this.p.sandboxed;
  }

  isolated(slots: number): Promise<Isolated> {
    return this.p.isolated(slots);
  }

  get sdk(): TetherClient {
    return this.p.client;
  }
}
