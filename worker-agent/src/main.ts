/** tether-agent: runs an agent's jobs on this machine. */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { Host } from "./host.js";
import { logger } from "./log.js";

const VERSION = "0.1.0";

const USAGE = `usage: tether-agent --url URL --token HOST_TOKEN [--slots N] [--host-id ID] [--grace-ms MS]

  --url        the Tether control plane (env TETHER_URL)
  --token      the agent's host token (env TETHER_HOST_TOKEN)
  --slots      how many jobs to run at once (default 4)
  --host-id    this host's name at the edge (default hostname plus a random suffix)
  --grace-ms   after SIGTERM, how long a cancelled job has before SIGKILL (default 10000)
  --quiet      log nothing`;

function main(): void {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      token: { type: "string" },
      slots: { type: "string" },
      "host-id": { type: "string" },
      "grace-ms": { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (values.version) return void console.log(VERSION);
  const url = values.url ?? process.env.TETHER_URL;
  const token = values.token ?? process.env.TETHER_HOST_TOKEN;
  if (!url || !token) {
    console.error(`tether-agent: --url and --token are required\n\n${USAGE}`);
    process.exit(2);
  }
  const slots = positiveInt(values.slots ?? "4", "--slots");
  const graceMs = positiveInt(values["grace-ms"] ?? "10000", "--grace-ms");
  const hostId = values["host-id"] ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 100)}-${randomBytes(3).toString("hex")}`;
  const log = logger(hostId, values.quiet);
  let host: Host;
  try {
    host = new Host({ url, token, hostId, slots, graceMs, version: VERSION, log });
  } catch (err) {
    console.error(`tether-agent: ${(err as Error).message}`);
    process.exit(2);
  }
  void host.start();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log(`${signal} again: cancelling running jobs`);
      host.cancelAll("agent_stop");
      return;
    }
    stopping = true;
    log(`${signal}: stopping; jobs still running are cancelled`);
    host.cancelAll("agent_stop");
    void host.stop();
    const wait = setInterval(() => {
      if (host.running === 0) {
        clearInterval(wait);
        setTimeout(() => process.exit(0), 200);
      }
    }, 50);
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

function positiveInt(s: string, name: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`tether-agent: ${name} must be a positive whole number`);
    process.exit(2);
  }
  return n;
}

main();
