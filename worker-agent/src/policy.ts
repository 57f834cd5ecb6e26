/**
 * The host owner's policy: what jobs may run on this machine and with what. It comes from the
 * owner (a TOML file and flags of tether-agent), never from the run: a submitter cannot widen it.
 */
import { readFileSync, realpathSync, statSync } from "node:fs";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name");
const Limit = z.number().int().positive().nullable();

const PolicyFile = z.strictObject({
  security: z.enum(["deny", "allowlist", "full"]).optional(),
  allow: z.array(z.string().min(1).max(4096)).max(1000).optional(),
  ask: z.enum(["off", "on-miss", "always"]).optional(),
  sandbox: z.enum(["required", "preferred", "off"]).optional(),
  network: z.boolean().optional(),
  workspace: z.string().min(1).max(4096).optional(),
  access: z.enum(["none", "ro", "rw"]).optional(),
  env_pass: z.array(EnvName).max(1000).optional(),
  redact_env: z.array(EnvName).max(1000).optional(),
  keep_workdir: z.boolean().optional(),
  max_wall_ms: Limit.optional(),
  max_output_bytes: Limit.optional(),
  max_memory_mb: Limit.optional(),
  max_processes: Limit.optional(),
});
type PolicyFile = z.infer<typeof PolicyFile>;

export interface Policy {
  security: "deny" | "allowlist" | "full";
  allow: string[];
  ask: "off" | "on-miss" | "always";
  sandbox: "required" | "preferred" | "off";
  network: boolean;
  workspace: string | null;
  access: "none" | "ro" | "rw";
  env_pass: string[];
  redact_env: string[];
  keep_workdir: boolean;
  max_wall_ms: number | null;
  max_output_bytes: number | null;
  max_memory_mb: number | null;
  max_processes: number | null;
}

/** What a person starting tether-agent with no policy gets: nothing runs until they allow it. */
export const DEFAULT_POLICY: Policy = {
  security: "allowlist",
  allow: [],
  ask: "on-miss",
  sandbox: "preferred",
  network: true,
  workspace: null,
  access: "none",
  env_pass: [],
  redact_env: [],
  keep_workdir: false,
  max_wall_ms: null,
  max_output_bytes: null,
  max_memory_mb: null,
  max_processes: null,
};

/** The flags of tether-agent that set policy keys; they win over the file, lists add to it. */
export interface PolicyFlags {
  policy?: string;
  security?: string;
  ask?: string;
  allow?: string[];
  sandbox?: string;
  "no-network"?: boolean;
  workspace?: string;
  "env-pass"?: string[];
}

export function loadPolicy(flags: PolicyFlags): Policy {
  let file: PolicyFile = {};
  if (flags.policy) {
    let text: string;
    try {
      text = readFileSync(flags.policy, "utf8");
    } catch (err) {
      throw new Error(`--policy ${flags.policy}: ${(err as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = parseToml(text);
    } catch (err) {
      throw new Error(`--policy ${flags.policy}: not valid TOML: ${(err as Error).message}`);
    }
    file = check(PolicyFile, raw, `--policy ${flags.policy}`);
  }
  const fromFlags: PolicyFile = {
    ...(flags.security !== undefined && { security: check(PolicyFile.shape.security, flags.security, "--security") }),
    ...(flags.sandbox !== undefined && { sandbox: check(PolicyFile.shape.sandbox, flags.sandbox, "--sandbox") }),
    ...(flags.ask !== undefined && { ask: check(PolicyFile.shape.ask, flags.ask, "--ask") }),
    ...(flags["no-network"] && { network: false }),
    ...(flags.workspace !== undefined && { workspace: check(PolicyFile.shape.workspace, flags.workspace, "--workspace") }),
  };
  const envPass = (flags["env-pass"] ?? []).map((n) => check(EnvName, n, "--env-pass"));
  const allowFlags = (flags.allow ?? []).map((a) => check(z.string().min(1).max(4096), a, "--allow"));
  const p: Policy = { ...DEFAULT_POLICY, ...file, ...fromFlags } as Policy;
  p.allow = [...(file.allow ?? []), ...allowFlags];
  p.env_pass = [...(file.env_pass ?? []), ...envPass];
  if (p.workspace) p.workspace = existingDir(p.workspace);
  // A workspace named without an access level is there to be worked in.
  if (p.workspace && file.access === undefined) p.access = "rw";
  if (!p.workspace) p.access = "none";
  return p;
}

/** The sandbox binds it by its real path; a missing one would fail every job later, so it fails now. */
function existingDir(dir: string): string {
  try {
    const real = realpathSync(dir);
    if (statSync(real).isDirectory()) return real;
  } catch {
    /* said below */
  }
  throw new Error(`workspace: ${dir} is not a directory`);
}

function check<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new Error(`${where}: ${issue.path.length ? `${issue.path.join(".")}: ` : ""}${issue.message}`);
}

export interface Isolation {
  kind: "bubblewrap" | "none";
  /** The bwrap binary, or why there is no sandbox. */
  detail: string;
}

/** What the host tells the edge about itself (for hello, once the protocol carries it). */
export function policySummary(policy: Policy, isolation: Isolation) {
  return {
    security: policy.security,
    ask: policy.ask,
    sandbox: isolation.kind === "bubblewrap" && policy.sandbox !== "off" ? ("bubblewrap" as const) : ("none" as const),
    network: policy.network,
    workspace_access: policy.access,
  };
}

/** Why no job can run on this host as configured, or null. Never run weaker than the owner asked. */
export function hostRefusal(policy: Policy, isolation: Isolation): string | null {
  if (policy.security === "deny") return 'security = "deny" refuses every command';
  if (isolation.kind === "bubblewrap" && policy.sandbox !== "off") return null;
  const why = policy.sandbox === "off" ? 'sandbox = "off"' : `no sandbox (${isolation.detail})`;
  if (policy.sandbox === "required") return `sandbox = "required" but ${why}`;
  if (!policy.network) return `network = false needs the sandbox, but ${why}`;
  if (policy.access === "ro") return `access = "ro" for the workspace needs the sandbox, but ${why}`;
  return null;
}
