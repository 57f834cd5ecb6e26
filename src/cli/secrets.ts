/** tether secrets: an agent's write-only secrets. A value is read from stdin unless given, so it stays out of shell history. */
import { readFileSync } from "node:fs";
import type { TetherClient } from "../client/sdk.js";
import { UsageError } from "./flags.js";
import { closest } from "./help.js";

const SUBCOMMANDS = ["set", "ls", "rm"];

export async function secretsCommand(positionals: string[], connect: () => TetherClient, json = false): Promise<number> {
  const [sub, agent, name, value] = positionals;
  if (!sub || !SUBCOMMANDS.includes(sub)) {
    const near = sub && closest(sub, SUBCOMMANDS);
    throw new UsageError(sub ? `unknown secrets command ${sub}${near ? ` (did you mean ${near}?)` : ""}` : "tether secrets needs set, ls or rm", "secrets");
  }
  if (!agent) throw new UsageError(`tether secrets ${sub} needs the agent's name`, "secrets");
  const client = connect();
  if (sub === "ls") {
    const list = await client.listSecrets(agent);
    if (json) console.log(JSON.stringify(list, null, 2));
    else for (const s of list) console.log(`${s.name}\t${s.updated_at}`);
    return 0;
  }
  if (!name) throw new UsageError(`tether secrets ${sub} needs the secret's name`, "secrets");
  if (sub === "rm") return await client.deleteSecret(agent, name), 0;
  // A trailing newline from `echo` or a here-string is not part of the secret.
  const text = value === undefined || value === "-" ? readFileSync(0, "utf8").replace(/\r?\n$/, "") : value;
  await client.putSecret(agent, name, text);
  return 0;
}
