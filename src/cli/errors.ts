/** Failures said in words a person can act on: which address, which setting, what to run. */
import { dirname } from "node:path";
import type { CliConfig } from "./config.js";
import { closest } from "./help.js";
import { UsageError } from "./flags.js";

const NET_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "no such host",
  EAI_AGAIN: "the host name could not be resolved",
  ETIMEDOUT: "timed out",
  UND_ERR_CONNECT_TIMEOUT: "timed out",
  ECONNRESET: "the connection was reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  UND_ERR_SOCKET: "the connection closed",
};

/** fetch says only "fetch failed"; the reason is a code on its cause, or on one of the causes' errors. */
function netCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue = [err];
  while (queue.length) {
    const e = queue.shift() as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined;
    if (!e || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    if (typeof e.code === "string" && e.code in NET_REASONS) return e.code;
    queue.push(e.cause, ...(Array.isArray(e.errors) ? e.errors : []));
  }
  return undefined;
}

/** The message for a control plane that could not be reached, or undefined when that is not what happened. */
export function unreachable(err: unknown, config: CliConfig | undefined): string | undefined {
  if (!config) return undefined;
  const code = netCode(err);
  const invalidUrl = (err as { cause?: { code?: string } }).cause?.code === "ERR_INVALID_URL" || (err as { code?: string }).code === "ERR_INVALID_URL";
  if (!code && !invalidUrl && !(err instanceof TypeError && err.message === "fetch failed")) return undefined;
  if (invalidUrl) return `${config.localFile ? `the url in ${config.localFile}` : "TETHER_URL"} (${config.url}) is not a URL such as http://127.0.0.1:8787`;
  const why = code ? NET_REASONS[code] : ((err as { cause?: Error }).cause?.message ?? (err as Error).message);
  const head = `cannot reach the control plane at ${config.url} (${why}).`;
  if (config.localFile) {
    const checkout = dirname(dirname(config.localFile));
    return `${head}\nThat address is the local one, from ${config.localFile}: is \`npm start\` running? Start it in ${checkout}.`;
  }
  return `${head}\nIt comes from TETHER_URL: check that it is right and that the control plane is up.`;
}

/**
 * util.parseArgs' errors, as one line that names the command. Its own text is long and for
 * programmers ("To specify a positional argument starting with a '-' ...").
 */
export function flagError(err: unknown, command: string, known: string[]): UsageError {
  const e = err as { code?: string; message: string };
  // "Unknown option '--x'", "Option '-d, --detach' does not take an argument": the last flag quoted.
  const name = (/'([^']+)'/.exec(e.message)?.[1] ?? "").split(/[ ,]+/).filter((w) => w.startsWith("-")).pop();
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && name) {
    const near = name.startsWith("--") ? closest(name.slice(2), known) : undefined;
    return new UsageError(`unknown flag ${name} for tether ${command}${near ? ` (did you mean --${near}?)` : ""}`, command);
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && name) {
    const takes = /argument missing/.test(e.message) ? "needs a value" : "takes no value";
    return new UsageError(`${name} ${takes}`, command);
  }
  return new UsageError(e.message.split(". ")[0]!, command);
}
