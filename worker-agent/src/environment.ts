/**
 * A job's environment, built from nothing: tether-agent's own variables (npm_*, the host
 * token, whatever its shell had) are not a job's business. A job gets the basics, the names
 * the owner passes on, its run's own env, and its TETHER_* identity.
 */
import type { Logger } from "./log.js";
import type { Policy } from "./policy.js";

const FALLBACK_PATH = "/usr/local/bin:/usr/bin:/bin";
/** The host sets these; a run's env may not. PATH it may: it names where the job looks, not what it may run. */
const RESERVED = /^(TETHER_.*|HOME|TMPDIR)$/;
/**
 * The dynamic loader's variables load any code into any program: under an allowlist they would
 * make every allowed program a way around it (LD_PRELOAD=./mine.so cat).
 */
const LOADER = /^LD_/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Run env entries under these names are taken for secrets and kept out of the output. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|KEY/i;

export interface JobIdentity {
  url: string;
  token: string;
  runId: string;
  attempt: number;
}

export interface JobEnv {
  env: Record<string, string>;
  /** Values to redact from the job's output. */
  secrets: string[];
}

export function jobEnvironment(opts: {
  host: NodeJS.ProcessEnv;
  run: Record<string, string> | undefined;
  /** The agent's secrets the run names, as the edge opened them for this attempt. */
  secrets?: Record<string, string> | undefined;
  policy: Policy;
  identity: JobIdentity;
  home: string;
  tmp: string;
  log: Logger;
}): JobEnv {
  const { host, policy } = opts;
  const env: Record<string, string> = { PATH: host.PATH || FALLBACK_PATH };
  for (const [name, value] of Object.entries(host)) {
    if (value === undefined) continue;
    if (name === "LANG" || name === "TERM" || name.startsWith("LC_")) env[name] = value;
  }
  for (const name of policy.env_pass) {
    // The host's credential is never passed on, whatever the policy says.
    if (name === "TETHER_HOST_TOKEN" || RESERVED.test(name)) continue;
    const value = host[name];
    if (value !== undefined) env[name] = value;
  }
  const secrets: string[] = [opts.identity.token];
  for (const [name, value] of Object.entries(opts.run ?? {})) {
    // A name with "=" in it would set another variable, a reserved one too: only plain names pass.
    if (!NAME.test(name) || RESERVED.test(name) || (policy.security !== "full" && LOADER.test(name))) {
      opts.log(`run ${opts.identity.runId}: its env may not set ${JSON.stringify(name)}; dropped`);
      continue;
    }
    env[name] = value;
    if (SECRET_NAME.test(name)) secrets.push(value);
  }
  for (const [name, value] of Object.entries(opts.secrets ?? {})) {
    if (!NAME.test(name) || RESERVED.test(name) || LOADER.test(name)) {
      opts.log(`run ${opts.identity.runId}: a secret may not set ${JSON.stringify(name)}; dropped`);
      continue;
    }
    env[name] = value;
    secrets.push(value);
  }
  Object.assign(env, {
    HOME: opts.home,
    TMPDIR: opts.tmp,
    TETHER_URL: opts.identity.url,
    TETHER_TOKEN: opts.identity.token,
    TETHER_RUN_ID: opts.identity.runId,
    TETHER_ATTEMPT: String(opts.identity.attempt),
  });
  for (const name of policy.redact_env) {
    const value = env[name];
    if (value !== undefined) secrets.push(value);
  }
  return { env, secrets };
}
