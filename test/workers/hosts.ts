/** A host as the workers tests drive it: its control socket, enrolled, with the credential the edge gave it. */
import { expect } from "vitest";
import { PROTOCOL } from "../../src/protocol/version.js";
import { openSocket } from "./sockets.js";

export type Running = { run_id: string; attempt: number; exited?: boolean; fenced?: boolean };

export async function connectHost(agent: string, token: string, hostId: string, opts: { slots?: number; running?: Running[]; protocol?: number } = {}) {
  const sock = await openSocket(`/v1/agents/${agent}/connect`, token);
  sock.send({ type: "hello", protocol: opts.protocol ?? PROTOCOL, host_id: hostId, hostname: "box", version: "test", slots: opts.slots ?? 1, running: opts.running ?? [] });
  return sock;
}

/** Enrolls a host with the agent's enrollment token; resolves once welcomed. */
export async function enroll(agent: string, enrollToken: string, hostId: string, opts: { slots?: number; running?: Running[] } = {}) {
  const sock = await connectHost(agent, enrollToken, hostId, opts);
  const welcome = await sock.next();
  expect(welcome.type).toBe("welcome");
  expect(welcome.credential).toMatch(/^ey/);
  return { sock, credential: welcome.credential as string, welcome };
}

/** An attempt's output stream, opened with a host's credential. */
export const streamSocket = (run: string, attempt: number, credential: string) => openSocket(`/v1/runs/${run}/stream?attempt=${attempt}`, credential);
