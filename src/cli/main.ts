/** tether: the command line for a Tether control plane. */
import { parseArgs } from "node:util";
import { TetherClient, TetherError } from "../client/sdk.js";
import { logsCommand, runCommand } from "./commands.js";
import { loadConfig } from "./config.js";
import { schedulesCommand } from "./schedules.js";
import { pairs, UsageError } from "./flags.js";

const USAGE = `usage:
  tether run <agent> [--detach] [--env K=V]... [--label K=V]... [--timeout SECONDS] [--stdin FILE|-] -- <argv...>
  tether get <run>
  tether logs <run> [-f]
  tether cancel <run>
  tether agents create|get|delete <name>
  tether schedules create|ls|get|update|delete|trigger|preview|events ...   (tether schedules --help)

Connection: TETHER_URL and TETHER_TOKEN, or .tether/local.json (written by \`npm start\`).`;

async function main(args: string[]): Promise<number> {
  // Schedules have options of their own, so they are parsed apart.
  if (args[0] === "schedules") return schedulesCommand(args.slice(1), () => new TetherClient(loadConfig()));
  const dash = args.indexOf("--");
  const head = dash < 0 ? args : args.slice(0, dash);
  const tail = dash < 0 ? [] : args.slice(dash + 1);
  const { values, positionals } = parseArgs({
    args: head,
    allowPositionals: true,
    options: {
      detach: { type: "boolean", short: "d" },
      follow: { type: "boolean", short: "f" },
      env: { type: "string", short: "e", multiple: true },
      label: { type: "string", short: "l", multiple: true },
      timeout: { type: "string" },
      stdin: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [cmd, ...rest] = positionals;
  if (values.help || !cmd) {
    console.log(USAGE);
    return cmd || values.help ? 0 : 2;
  }
  const client = new TetherClient(loadConfig());
  const print = (v: unknown) => console.log(JSON.stringify(v, null, 2));
  switch (cmd) {
    case "run": {
      const [agent] = rest;
      if (!agent || !tail.length) return usage("tether run <agent> -- <argv...>");
      const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
      if (timeout !== undefined && !(timeout > 0)) return usage("--timeout takes seconds, more than 0");
      return runCommand(client, agent, tail, {
        detach: values.detach ?? false,
        env: pairs(values.env, "--env"),
        labels: pairs(values.label, "--label"),
        ...(timeout !== undefined && { timeoutMs: Math.round(timeout * 1000) }),
        ...(values.stdin !== undefined && { stdinFile: values.stdin }),
      });
    }
    case "get":
      if (!rest[0]) return usage("tether get <run>");
      print(await client.get(rest[0]));
      return 0;
    case "logs":
      if (!rest[0]) return usage("tether logs <run> [-f]");
      return logsCommand(client, rest[0], values.follow ?? false);
    case "cancel":
      if (!rest[0]) return usage("tether cancel <run>");
      print(await client.cancel(rest[0]));
      return 0;
    case "agents": {
      const [sub, name] = rest;
      if (!name) return usage("tether agents create|get|delete <name>");
      if (sub === "create") print(await client.createAgent(name));
      else if (sub === "get") print(await client.getAgent(name));
      else if (sub === "delete") await client.deleteAgent(name);
      else return usage("tether agents create|get|delete <name>");
      return 0;
    }
    default:
      return usage(`unknown command ${cmd}`);
  }
}

function usage(msg: string): number {
  console.error(`tether: ${msg}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) process.exit(usage(err.message));
    if (err instanceof TetherError) console.error(`tether: ${err.message}${err.status ? ` (HTTP ${err.status})` : ""}`);
    else console.error(`tether: ${(err as Error).message}`);
    process.exit(err instanceof TetherError && err.status === 404 ? 4 : 1);
  },
);
