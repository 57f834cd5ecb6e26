/** tether token create|ls|revoke, and tether keys new: workspace tokens and the deployment's signing keys. */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { TetherClient } from "../client/sdk.js";
import { newSigningKey } from "../auth/keygen.js";
import { flagError } from "./errors.js";
import { UsageError } from "./flags.js";
import { closest } from "./help.js";

export const TOKEN_USAGE = `usage:
  tether token create <name> --scope SCOPE [--scope SCOPE]... [--ttl DURATION | --service]
  tether token ls
  tether token revoke <id>

SCOPE is admin, agents:read, agents:write, runs:read, runs:write, schedules:read, schedules:write or *.
DURATION is a number with s, m, h or d (default 30d, at most 366d). --service makes a long-lived
token with no expiry, listed as a service token. The token is printed once; ls shows its record only.
Making, listing and revoking tokens takes a token with the admin scope. A revoked token is refused
everywhere within 5 seconds.

example:
  tether token create ci --scope runs:write --scope runs:read --ttl 90d`;

export const KEYS_USAGE = `usage:
  tether keys new [FILE]

Prints a signing key set (JSON) for TETHER_SIGNING_KEYS: a fresh Ed25519 key first, then the keys
in FILE, if given (the set in use now), so the new key signs and the old ones still verify.

example:
  tether keys new > keys.json && npx wrangler secret put TETHER_SIGNING_KEYS < keys.json`;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

function seconds(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text);
  if (!m) throw new UsageError(`--ttl takes a number and a unit (s, m, h or d), such as 90d; not ${text}`, "token");
  return Number(m[1]) * UNITS[m[2]!]!;
}

export async function tokenCommand(args: string[], connect: () => TetherClient): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "--help" || sub === "-h" || sub === undefined) return void console.log(TOKEN_USAGE), sub === undefined ? 2 : 0;
  if (sub !== "create" && sub !== "ls" && sub !== "revoke") {
    const near = closest(sub, ["create", "ls", "revoke"]);
    throw new UsageError(`unknown token command ${sub}${near ? ` (did you mean ${near}?)` : ""}`, "token");
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      // --json is taken and changes nothing: what token prints is JSON already.
      options: { help: { type: "boolean", short: "h" }, json: { type: "boolean" }, scope: { type: "string", multiple: true }, ttl: { type: "string" }, service: { type: "boolean" } },
    });
  } catch (err) {
    throw flagError(err, "token", ["help", "json", "scope", "ttl", "service"]);
  }
  const { values, positionals } = parsed;
  if (values.help) return void console.log(TOKEN_USAGE), 0;
  const print = (v: unknown) => console.log(JSON.stringify(v, null, 2));
  if (sub === "ls") return print(await connect().listTokens()), 0;
  const [arg] = positionals;
  if (!arg) throw new UsageError(sub === "create" ? "tether token create needs a name" : "tether token revoke needs a token id", "token");
  if (sub === "revoke") return await connect().revokeToken(arg), 0;
  if (!values.scope?.length) throw new UsageError("tether token create needs at least one --scope", "token");
  if (values.service && values.ttl !== undefined) throw new UsageError("a --service token has no expiry: give --ttl or --service, not both", "token");
  const body = {
    name: arg,
    scopes: values.scope,
    ...(values.ttl !== undefined && { ttl: seconds(values.ttl) }),
    ...(values.service && { service: true as const }),
  };
  print(await connect().createToken(body));
  return 0;
}

export async function keysCommand(args: string[]): Promise<number> {
  const [sub, file, ...extra] = args;
  if (sub === "--help" || sub === "-h") return void console.log(KEYS_USAGE), 0;
  if (sub !== "new" || extra.length) throw new UsageError("tether keys new [FILE]", "keys");
  const old = file === undefined ? [] : (JSON.parse(readFileSync(file, "utf8")) as unknown[]);
  if (!Array.isArray(old)) throw new UsageError(`${file} is not a key set (a JSON array of keys)`, "keys");
  console.log(JSON.stringify([await newSigningKey(), ...old], null, 2));
  return 0;
}
