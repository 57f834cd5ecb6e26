/**
 * The jobs every workload runs, the same argv for both systems, so the comparison is of the
 * systems and never of the jobs.
 */

export interface Job {
  argv: string[];
}

export const jobs = {
  /** Its first act reads the wall clock: the moment the process has started. */
  stamp: (): Job => ({ argv: ["date", "+%s%N"] }),
  /** Does nothing: what is left is the system's own cost. */
  nothing: (): Job => ({ argv: ["true"] }),
  /** Writes a file to stdout as fast as the pipe takes it. */
  cat: (file: string): Job => ({ argv: ["cat", file] }),
  /** Writes `bytes` zero bytes to stdout as fast as it can. */
  zeros: (bytes: number): Job => ({ argv: ["head", "-c", String(bytes), "/dev/zero"] }),
  /** Writes a line holding the wall clock every `everyMs` for `forMs` (echo is a shell builtin: no fork between stamp and write). */
  ticker: (everyMs: number, forMs: number): Job => ({
    argv: ["sh", "-c", `end=$(( $(date +%s%N) + ${forMs * 1e6} )); while :; do t=$(date +%s%N); [ "$t" -gt "$end" ] && break; echo "$t"; sleep ${everyMs / 1000}; done`],
  }),
  /**
   * Says its process group (its pid: each job leads its own group) and waits; SIGTERM ends it at
   * once. Two processes in the group, the shell and a sleep, as a real job has children.
   */
  sleeper: (): Job => ({ argv: ["sh", "-c", 'echo $$; trap "exit 0" TERM; sleep 600 & wait'] }),
};

/** Parses the `date +%s%N` a stamp job printed. */
export function parseStamp(out: Uint8Array): bigint {
  const text = Buffer.from(out).toString("latin1").trim();
  if (!/^\d{19}$/.test(text)) throw new Error(`expected a nanosecond timestamp, got ${JSON.stringify(text.slice(0, 80))}`);
  return BigInt(text);
}
