/** A command line that cannot be run as written: the CLI prints it with a hint and exits 2. */
export class UsageError extends Error {
  /** The command whose --help to point at. */
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** `--env K=V` style flags, repeated, as a record. */
export function pairs(items: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`${flag} takes KEY=VALUE, not ${item}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}
