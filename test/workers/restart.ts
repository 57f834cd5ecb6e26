/**
 * A restart of the control plane inside one test file: every object of the file's Worker is
 * reset and comes back from storage. The reset fails whatever an object is doing at that moment,
 * an alarm included, even one whose handler has returned while the runtime still records it;
 * workerd reports each as an uncaught exception, and after one the test pool has been seen never
 * to finish its run.
 *
 * So in a file that imports this, the runtime fires no alarm: objects set and read their alarm
 * as ever, but only a test runs an alarm handler, where it means to (as the schedule tests drive
 * their clock). An object that comes back from the reset reads no alarm set, as after one that
 * fired, and sets it again from its timers. And the reset waits until no object has work left
 * past its answer.
 */
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Env } from "../../src/env.js";

/** Work objects left running past their answer (ctx.waitUntil), until it settles. */
const background = new Set<Promise<unknown>>();
/** Each object's alarm as it set it, by its storage: the runtime never sees it. */
const alarms = new WeakMap<DurableObjectStorage, number>();

// Every object's state shares one prototype, and every storage another, so one object reaches both.
const AGENT = (env as unknown as Env).AGENT;
await runInDurableObject(AGENT.get(AGENT.idFromName("restart-probe")), (_o, state) => {
  const ctx = Object.getPrototypeOf(state) as DurableObjectState;
  const waitUntil = ctx.waitUntil;
  ctx.waitUntil = function (this: DurableObjectState, work: Promise<unknown>) {
    const tracked = work.finally(() => background.delete(tracked));
    tracked.catch(() => undefined);
    background.add(tracked);
    return waitUntil.call(this, work);
  };
  const storage = Object.getPrototypeOf(state.storage) as DurableObjectStorage;
  storage.getAlarm = async function (this: DurableObjectStorage) {
    return alarms.get(this) ?? null;
  };
  storage.setAlarm = async function (this: DurableObjectStorage, at: number | Date) {
    alarms.set(this, typeof at === "number" ? at : at.getTime());
  };
  storage.deleteAlarm = async function (this: DurableObjectStorage) {
    alarms.delete(this);
  };
});

export async function restartAll(): Promise<void> {
  // Work can start more work: wait until none is left.
  while (background.size > 0) await Promise.allSettled([...background]);
  await abortAllDurableObjects();
}
