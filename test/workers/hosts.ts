/** A host as the workers tests drive it: its control socket, enrolled, with the credential the edge gave it. */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Env } from "../../src/env.js";
import { encodeBatch, STDOUT } from "../../src/protocol/frames.js";
import { PROTOCOL } from "../../src/protocol/version.js";
import { openSocket } from "./sockets.js";

export type Running = { run_id: string; attempt: number; exited?: boolean; fenced?: boolean };

export async function connectHost(agent: string, token: string, hostId: string, opts: { slots?: number; running?: Running[]; protocol?: number; labels?: Record<string, string> } = {}) {
  const sock = await openSocket(`/v1/agents/${agent}/connect`, token);
  sock.send({ type: "hello", protocol: opts.protocol ?? PROTOCOL, host_id: hostId, hostname: "box", version: "test", slots: opts.slots ?? 1, running: opts.running ?? [], ...(opts.labels && { labels: opts.labels }) });
  return sock;
}

/** Enrolls a host with the agent's enrollment token; resolves once welcomed. */
export async function enroll(agent: string, enrollToken: string, hostId: string, opts: { slots?: number; running?: Running[]; labels?: Record<string, string> } = {}) {
  const sock = await connectHost(agent, enrollToken, hostId, opts);
  const welcome = await sock.next();
  expect(welcome.type).toBe("welcome");
  expect(welcome.credential).toMatch(/^ey/);
  return { sock, credential: welcome.credential as string, welcome };
}

/** An attempt's output stream, opened with a host's credential. */
export const streamSocket = (run: string, attempt: number, credential: string) => openSocket(`/v1/runs/${run}/stream?attempt=${attempt}`, credential);

/** Moves every lease and the timers of these kinds into the past, as if their time had long gone by; returns the agent's object. */
export async function timeTravel(ws: string, agent: string, kinds: string[]) {
  const E = env as unknown as Env;
  const stub = E.AGENT.get(E.AGENT.idFromName(`${ws}:${agent}`));
  await runInDurableObject(stub, (_o, state) => {
    state.storage.sql.exec("UPDATE runs SET renewed_at = 0, missing_since = CASE WHEN missing_since IS NULL THEN NULL ELSE 1 END");
    for (const k of kinds) state.storage.sql.exec("UPDATE timers SET due_at = 1 WHERE kind = ?", k);
    // A retry's time is also the run's own: it may start from then.
    if (kinds.includes("retry")) state.storage.sql.exec("UPDATE runs SET ready_at = 1 WHERE status = 'queued' AND ready_at > 1");
  });
  return stub;
}

/** Ends an assigned attempt the way a host does: hello, one batch, the end report. */
export async function finish(credential: string, runId: string, attempt: number) {
  const s = await streamSocket(runId, attempt, credential);
  s.send({ type: "hello", pid: 1 });
  await s.next();
  s.send(encodeBatch(attempt, [{ seq: 1, stream: STDOUT, data: new TextEncoder().encode("x") }]));
  await s.next();
  s.send({ type: "end", last_seq: 1, reason: "exit", exit_code: 0, signal: null, error: null });
  expect(await s.next()).toEqual({ type: "ended" });
  s.sock.close(1000);
}
