/** tether: the command line for a Tether control plane. */
import { readFileSync } from "node:fs";
import { isatty } from "node:tty";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { TetherClient, TetherError } from "../client/sdk.js";
import { nodeFetch } from "../client/node-fetch.js";
import { logsCommand, runCommand } from "./commands.js";
import { loadConfig, type CliConfig } from "./config.js";
import { flagError, unreachable } from "./errors.js";
import { completionScript } from "./completion.js";
import { awaitCommand, watchCommand } from "./follow-commands.js";
import { closest, commandHelp, COMMANDS, USAGE } from "./help.js";
import { agentsLsCommand, lsCommand, statusCommand } from "./index-commands.js";
import { schedulesCommand } from "./schedules.js";
import { secretsCommand } from "./secrets.js";
import { submitCommand } from "./submit-command.js";
import { keysCommand, tokenCommand } from "./tokens.js";
import { UsageError } from "./flags.js";
import { RUN_OPTIONS, runBody, type RunValues } from "./run-flags.js";

const help = { help: { type: "boolean", short: "h" } } as const;
const json = { json: { type: "boolean" } } as const;
/** Each command's own flags: a flag another command has is still a mistake here. */
const FLAGS = {
  run: RUN_OPTIONS,
  submit: { ...help, ...json, "key-prefix": { type: "string" } },
  // get, cancel, approve, deny, input, agents and hosts print JSON whatever is asked: --json is
  // taken too, so a script may put it on every command that reads.
  get: { ...help, ...json },
  logs: { ...help, follow: { type: "boolean", short: "f" } },
  cancel: { ...help, ...json },
  await: { ...help, ...json },
  watch: { ...help, ...json },
  completion: help,
  approve: { ...help, ...json, reason: { type: "string" } },
  deny: { ...help, ...json, reason: { type: "string" } },
  input: { ...help, ...json, eof: { type: "boolean" } },
  agents: { ...help, ...json },
  hosts: { ...help, ...json },
  secrets: { ...help, ...json },
  help,
} satisfies Record<string, NonNullable<ParseArgsConfig["options"]>>;

/** Set once the connection is known, so a failure can say where it was going. */
let config: CliConfig | undefined;
const connect = () => new TetherClient({ ...(config = loadConfig()), fetch: nodeFetch });

async function main(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  if (cmd === undefined) {
    console.error(USAGE);
    return 2;
  }
  if (cmd === "--help" || cmd === "-h") return void console.log(USAGE), 0;
  if (cmd === "--version" || cmd === "-V" || cmd === "version") return void console.log(`tether ${version()}`), 0;
  if (cmd.startsWith("-")) throw new UsageError(`unknown flag ${cmd}; the command comes first: tether <command> [flags]`);
  if (!(cmd in COMMANDS)) {
    const near = closest(cmd, Object.keys(COMMANDS));
    throw new UsageError(`unknown command ${cmd}${near ? ` (did you mean tether ${near}?)` : ""}`);
  }
  // Schedules have subcommands and flags of their own, so they are parsed apart.
  if (cmd === "schedules") return schedulesCommand(rest, connect);
  if (cmd === "ls") return lsCommand(rest, connect);
  if (cmd === "status") return statusCommand(rest, connect);
  if (cmd === "agents" && rest[0] === "ls") return agentsLsCommand(rest.slice(1), connect);
  if (cmd === "token") return tokenCommand(rest, connect);
  if (cmd === "keys") return keysCommand(rest);
  const name = cmd as keyof typeof FLAGS;
  const dash = rest.indexOf("--");
  const head = dash < 0 ? rest : rest.slice(0, dash);
  const tail = dash < 0 ? [] : rest.slice(dash + 1);
  let parsed;
  try {
    parsed = parseArgs({ args: head, allowPositionals: true, strict: true, options: FLAGS[name] as NonNullable<ParseArgsConfig["options"]> });
  } catch (err) {
    throw flagError(err, name, Object.keys(FLAGS[name]));
  }
  const values = parsed.values as { help?: boolean; follow?: boolean; eof?: boolean; json?: boolean; reason?: string; "key-prefix"?: string };
  const positionals = parsed.positionals;
  if (values.help) return void console.log(commandHelp(name)), 0;
  const print = (v: unknown) => console.log(JSON.stringify(v, null, 2));
  const need = (what: string) => new UsageError(`tether ${name} needs ${what}`, name);
  switch (name) {
    case "help": {
      const topic = positionals[0];
      if (!topic) return void console.log(USAGE), 0;
      if (!(topic in COMMANDS)) {
        const near = closest(topic, Object.keys(COMMANDS));
        throw new UsageError(`no command ${topic}${near ? ` (did you mean ${near}?)` : ""}`);
      }
      console.log(commandHelp(topic));
      return 0;
    }
    case "run": {
      const [agent, extra] = positionals;
      if (!agent) throw need("an agent, then the command after --: tether run <agent> -- <argv...>");
      if (extra !== undefined) throw new UsageError(`tether run takes one agent, then the command after --: put -- before ${extra}`, name);
      const v = values as RunValues;
      // The flags first: a mistake in them is said (exit 2) without any configuration or connection.
      const job = runBody(v, tail);
      return runCommand(connect(), agent, {
        job,
        detach: v.detach ?? false,
        result: v.result ?? false,
        interactive: v.interactive ?? false,
        ...(v.stdin !== undefined && { stdinFile: v.stdin }),
      });
    }
    case "submit": {
      const [agent, source = "-", extra] = positionals;
      if (!agent) throw need("an agent, then a file of jobs (one JSON object a line), or - for stdin");
      if (positionals.length === 1 && isatty(0)) throw need("a file of jobs (one JSON object a line), or jobs piped to its stdin");
      if (extra !== undefined) throw new UsageError(`tether submit takes one agent and one file, not ${extra}`, name);
      return submitCommand(connect, agent, source, { json: values.json ?? false, ...(values["key-prefix"] !== undefined && { keyPrefix: values["key-prefix"] }) });
    }
    case "get":
      if (!positionals[0]) throw need("a run id");
      print(await connect().get(positionals[0]));
      return 0;
    case "logs":
      if (!positionals[0]) throw need("a run id");
      return logsCommand(connect(), positionals[0], values.follow ?? false);
    case "input": {
      const [run, data] = positionals;
      if (!run || (data === undefined && !values.eof)) throw need("a run id, then the data (or - for stdin), or --eof: tether input <run> [--eof] [data|-]");
      const bytes = data === undefined ? new Uint8Array() : data === "-" ? new Uint8Array(readFileSync(0)) : data;
      print(await connect().input(run, bytes, { eof: values.eof ?? false }));
      return 0;
    }
    case "await":
    case "watch":
      if (!positionals[0]) throw need(`a run id: tether ${name} <run>`);
      return (name === "await" ? awaitCommand : watchCommand)(connect(), positionals[0], values.json ?? false);
    case "completion":
      process.stdout.write(completionScript(positionals[0]));
      return 0;
    case "cancel":
      if (!positionals[0]) throw need("a run id");
      print(await connect().cancel(positionals[0]));
      return 0;
    case "approve":
    case "deny": {
      if (!positionals[0]) throw need("a run id");
      const client = connect();
      print(await (name === "approve" ? client.approve(positionals[0], values.reason) : client.deny(positionals[0], values.reason)));
      return 0;
    }
    case "agents": {
      const [sub, agent] = positionals;
      if (sub !== "create" && sub !== "get" && sub !== "delete") {
        const near = sub && closest(sub, ["create", "get", "delete"]);
        throw new UsageError(sub ? `unknown agents command ${sub}${near ? ` (did you mean ${near}?)` : ""}` : "tether agents needs create, get or delete", name);
      }
      if (!agent) throw need(`the agent's name: tether agents ${sub} <name>`);
      const client = connect();
      if (sub === "create") print(await client.createAgent(agent));
      else if (sub === "get") print(await client.getAgent(agent));
      else await client.deleteAgent(agent);
      return 0;
    }
    case "secrets":
      return secretsCommand(positionals, connect, values.json ?? false);
    case "hosts": {
      const [sub, agent, host] = positionals;
      if (sub !== "ls" && sub !== "revoke") {
        const near = sub && closest(sub, ["ls", "revoke"]);
        throw new UsageError(sub ? `unknown hosts command ${sub}${near ? ` (did you mean ${near}?)` : ""}` : "tether hosts needs ls or revoke", name);
      }
      if (!agent) throw need(`the agent's name: tether hosts ${sub} <agent>`);
      if (sub === "ls") return print(await connect().listHosts(agent)), 0;
      if (!host) throw need("the host's id: tether hosts revoke <agent> <host>");
      await connect().revokeHost(agent, host);
      return 0;
    }
  }
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/**
 * Exits once what was written to stdout and stderr is out. A write to a pipe waits in this
 * process until the reader takes it, and process.exit drops what still waits: a
 * `tether submit --json` read by another program lost its last answers.
 */
async function exit(code: number): Promise<never> {
  const flushed = (s: NodeJS.WriteStream) => new Promise<void>((resolve) => s.write("", () => resolve()));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

main(process.argv.slice(2)).then(
  (code) => exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      const hint = err.command ? `tether ${err.command} --help` : "tether --help";
      console.error(`tether: ${err.message}\nSee \`${hint}\` for usage and an example.`);
      return exit(2);
    }
    if (err instanceof TetherError) console.error(`tether: ${err.message}${err.status ? ` (HTTP ${err.status})` : ""}`);
    else console.error(`tether: ${unreachable(err, config) ?? (err as Error).message}`);
    return exit(err instanceof TetherError && err.status === 404 ? 4 : 1);
  },
);
