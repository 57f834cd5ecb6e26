/** A scoped logger: every line says which host and, where it applies, which run. */
export type Logger = (msg: string) => void;

export function logger(scope: string, quiet = false): Logger {
  return (msg) => {
    if (!quiet) process.stderr.write(`${new Date().toISOString()} tether-agent ${scope} ${msg}\n`);
  };
}
