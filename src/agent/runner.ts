/**
 * Runners: agents a host runs for a job in place of an argv. A runner job is planned here into
 * the command its host runs, so the host runs it like any job, and parses what it prints.
 */
import type { JobSpec } from "../protocol/run.js";

export const RUNNERS = ["claude"] as const;

/** Why the job cannot run as given, or null: a run gives an argv or a runner with its prompt. */
export function jobProblem(job: JobSpec): string | null {
  const both = (job.secrets ?? []).filter((n) => job.env?.[n] !== undefined);
  if (both.length) return `secrets: ${both.join(", ")} is also in env; a variable comes from one or the other`;
  if (job.runner === undefined) {
    if (!job.argv) return "argv: a run needs argv, or a runner and its prompt";
    const stray = (["prompt", "model", "max_turns", "allowed_tools", "append_system_prompt"] as const).filter((k) => job[k] !== undefined);
    return stray.length ? `${stray.join(", ")}: only a run with a runner takes these` : null;
  }
  if (job.argv) return "argv: a run with a runner takes no argv; the runner is the program";
  if (job.prompt === undefined) return "prompt: the claude runner needs a prompt";
  if (job.stdin !== undefined) return "stdin: the prompt is the claude runner's stdin";
  return null;
}

/**
 * Claude Code, non-interactively: the prompt on stdin, every message as a line of JSON
 * (stream-json needs --verbose with -p).
 */
export function runnerArgv(job: JobSpec): { argv: string[]; stdin: string } {
  const argv = ["claude", "-p", "--output-format", "stream-json", "--verbose"];
  if (job.model) argv.push("--model", job.model);
  if (job.max_turns !== undefined) argv.push("--max-turns", String(job.max_turns));
  if (job.allowed_tools?.length) argv.push("--allowedTools", job.allowed_tools.join(","));
  if (job.append_system_prompt) argv.push("--append-system-prompt", job.append_system_prompt);
  return { argv, stdin: job.prompt ?? "" };
}
