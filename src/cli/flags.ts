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
export function pairs(items: string[] | undefined, flag: string, command?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`${flag} takes KEY=VALUE, not ${item}`, command);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/**
 * `--input name=value` flags: the value as JSON when it is JSON (`n=3`, `o={"a":1}`), as a
 * string otherwise (`who=world`); `name=@file.json` reads the file as JSON.
 */
export function inputs(items: string[] | undefined, read: (file: string) => string, command?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(pairs(items, "--input", command))) {
    if (value.startsWith("@")) {
      try {
        out[name] = JSON.parse(read(value.slice(1)));
      } catch (err) {
        throw new UsageError(`--input ${name}=${value}: ${(err as Error).message}`, command);
      }
      continue;
    }
    try {
      out[name] = JSON.parse(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}
