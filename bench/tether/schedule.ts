/**
 * A Tether schedule for the schedule workload: created through the SDK on the bench's agent,
 * left to fire, paused, then deleted once every run it made is known.
 */
import type { Schedule, TetherClient } from "../../src/client/sdk.js";
import { sleep } from "../clock.js";
import type { Job } from "../jobs.js";
import { EVERY_SECOND, type Fired } from "../target.js";

/** How long past the last slot's time its run may take to appear before the workload gives up. */
const LATE_LIMIT_MS = 30_000;
const POLL_MS = 100;

export async function fireSchedule(client: TetherClient, agent: string, job: Job, slots: number): Promise<Fired[]> {
  // overlap "allow": a slot is never skipped because the run before it is still going.
  const created = await client.createSchedule(agent, { cron: EVERY_SECOND, timezone: "UTC", overlap: "allow", run: { argv: job.argv } });
  try {
    const lastSlot = Date.parse(created.next_run_at!) + (slots - 1) * 1000;
    // No polling while the slots fire: the bench's reads would land on the same object as the firing.
    await sleep(Math.max(0, lastSlot - Date.now()));
    let seen: Schedule = created;
    while (seen.fires < slots) {
      if (Date.now() > lastSlot + LATE_LIMIT_MS) throw new Error(`the schedule fired ${seen.fires} of ${slots} slots by ${LATE_LIMIT_MS / 1000} s after the last`);
      await sleep(POLL_MS);
      seen = await client.getSchedule(created.id);
    }
    // Paused, it fires no more; the slots it has decided are still submitted, and each gets its
    // `fired` event (naming the run) only then. Deleting it would drop those events.
    const paused = await client.updateSchedule(created.id, { enabled: false });
    for (;;) {
      const runIds = (await client.scheduleEvents(created.id)).flatMap((e) => (e.type === "fired" ? [e.run_id] : []));
      if (runIds.length >= paused.fires) return await Promise.all(runIds.map((id) => firedRun(client, created.id, id)));
      if (Date.now() > lastSlot + LATE_LIMIT_MS) throw new Error(`only ${runIds.length} of the ${paused.fires} runs the schedule fired were submitted`);
      await sleep(POLL_MS);
    }
  } finally {
    await client.deleteSchedule(created.id);
  }
}

async function firedRun(client: TetherClient, scheduleId: string, id: string): Promise<Fired> {
  const run = await client.get(id);
  if (run.schedule_id !== scheduleId || !run.scheduled_for) throw new Error(`run ${id} does not say it was made by ${scheduleId} for a slot`);
  return { id, slotMs: Date.parse(run.scheduled_for) };
}
