/** Reading a run's object and the agent's record of it, and an attempt that has streamed. */
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { agentStub, runStub } from "../../src/env.js";
import { encodeBatch, STDOUT } from "../../src/protocol/frames.js";
import { enroll, streamSocket } from "./hosts.js";
import { E, submit, type Agent } from "./index-helpers.js";

export const tables = (a: Agent, id: string) =>
  runInDurableObject(runStub(E, a.ws, id), (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").one().n);
/** Whether the run's object has any storage at all, found without reaching the object. */
export const made = async (a: Agent, id: string) => {
  const target = E.RUN.idFromName(`${a.ws}:${id}`);
  return (await listDurableObjectIds(E.RUN)).some((o) => o.equals(target));
};
/** What the agent has written down about the run's object: 0 none, 1 it exists, 2 it may. */
export const known = (a: Agent, id: string) =>
  runInDurableObject(agentStub(E, a.ws, a.name), (_o, state) => state.storage.sql.exec<{ has_object: number }>("SELECT has_object FROM runs WHERE id = ?", id).one().has_object);
export const types = (events: { type: string; status?: string }[]) => events.map((e) => (e.type === "state" ? `state:${e.status}` : e.type));

export async function streaming(a: Agent, text: string) {
  const h = await enroll(a.name, a.enrollToken, "h", { slots: 1 });
  const run = await submit(a, { argv: ["echo"] });
  expect(await h.sock.next()).toMatchObject({ type: "assign", run_id: run.id, attempt: 1 });
  const s = await streamSocket(run.id, 1, h.credential);
  s.send({ type: "hello", pid: 77 });
  expect(await s.next()).toEqual({ type: "ack", seq: 0 });
  s.send(encodeBatch(1, [{ seq: 1, stream: STDOUT, data: new TextEncoder().encode(text) }]));
  expect(await s.next()).toEqual({ type: "ack", seq: 1 });
  return { h, run, s };
}
