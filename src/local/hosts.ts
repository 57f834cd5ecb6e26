/**
 * Hosts on this machine: real tether-agent processes, and the tokens and agent they need.
 * Nothing here loads wrangler, so a process using it keeps its own signal handling.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { signToken } from "../auth/tokens.js";
import { TetherClient } from "../client/sdk.js";
import { agentBin } from "./paths.js";

/** The local stack's own token: every scope, no expiry, made outside the API (so not listed or revocable; a new key set retires it). */
export function workspaceToken(signingKeys: string, workspace: string): Promise<string> {
  return signToken(signingKeys, { kind: "workspace", ws: workspace, scopes: ["*"], svc: true });
}

export interface HostAgent {
  child: ChildProcess;
  /** Resolves once the host is connected to its agent. */
  connected: Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startHostAgent(opts: {
  url: string;
  hostToken: string;
  slots?: number;
  hostId?: string;
  graceMs?: number;
  stdio?: "inherit" | "pipe";
  /**
   * The host policy as tether-agent flags (--policy FILE, --security, --allow, --sandbox, …).
   * Default: any command, no sandbox: the local stack and its tests run the submitter's own
   * commands on the submitter's own machine, and share files in /tmp with their jobs.
   */
  policy?: string[];
  /** More environment for tether-agent itself (a PATH with a runner on it, say). */
  env?: Record<string, string>;
}): HostAgent {
  const args = [agentBin(), "--url", opts.url, "--slots", String(opts.slots ?? 4)];
  if (opts.hostId) args.push("--host-id", opts.hostId);
  if (opts.graceMs) args.push("--grace-ms", String(opts.graceMs));
  args.push(...(opts.policy ?? ["--security", "full", "--sandbox", "off"]));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...opts.env, TETHER_HOST_TOKEN: opts.hostToken },
    stdio: ["ignore", "inherit", "pipe"],
  });
  let log = "";
  const connected = new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (b: Buffer) => {
      const text = b.toString();
      if (opts.stdio !== "pipe") process.stderr.write(text);
      log += text;
      if (log.includes(" connected to agent ")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`tether-agent exited (${code}) before connecting:\n${log}`)));
  });
  connected.catch(() => {});
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    connected,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Creates the agent if missing; returns a host token for it (a fresh one when it existed). */
export async function ensureAgent(client: TetherClient, name: string): Promise<string> {
  try {
    return (await client.createAgent(name)).host_token;
  } catch (err) {
    if ((err as { status?: number }).status !== 409) throw err;
    return (await client.rotateHostToken(name)).host_token;
  }
}
