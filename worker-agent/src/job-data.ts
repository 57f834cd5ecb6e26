/**
 * Data into and out of a job. Named inputs reach the process as TETHER_INPUT_<NAME> (JSON text)
 * while they fit in the environment, and as files beside it past that; the value a job returns
 * is the JSON it writes to TETHER_RESULT_PATH, a path of its attempt's own directory.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Inputs kept in the environment, together; larger ones go to files (an environment has a size limit). */
export const INPUT_ENV_BYTES = 256 * 1024;
/** The largest result a job may return. */
export const RESULT_BYTES = 1024 * 1024;
const RESULT_FILE = ".tether-result.json";
const INPUT_DIR = ".tether-inputs";

/** The environment name of an input: upper-cased, only A-Z 0-9 _. */
export const inputEnvName = (name: string) => `TETHER_INPUT_${name.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;

/**
 * Environment entries for the inputs and the result path. `hostDir` is the attempt's directory
 * as this host sees it, `jobDir` as the job sees it (the sandbox mounts it elsewhere).
 */
export function jobDataEnv(inputs: Record<string, unknown> | undefined, hostDir: string, jobDir: string): { env: Record<string, string>; resultFile: string } {
  const env: Record<string, string> = { TETHER_RESULT_PATH: join(jobDir, RESULT_FILE) };
  let used = 0;
  for (const name of Object.keys(inputs ?? {}).sort()) {
    const text = JSON.stringify(inputs![name]);
    const bytes = Buffer.byteLength(text);
    const key = inputEnvName(name);
    if (used + bytes <= INPUT_ENV_BYTES) {
      env[key] = text;
      used += bytes;
      continue;
    }
    mkdirSync(join(hostDir, INPUT_DIR), { recursive: true, mode: 0o700 });
    writeFileSync(join(hostDir, INPUT_DIR, `${key}.json`), text, { mode: 0o600 });
    env[`${key}_FILE`] = join(jobDir, INPUT_DIR, `${key}.json`);
  }
  return { env, resultFile: join(hostDir, RESULT_FILE) };
}

/**
 * What the job returned: JSON text, or why there is none it could use. A job that wrote nothing
 * returned nothing. The path is the job's to make anything of: only a regular file is read, and
 * never through a link (in a sandbox, a link is how a job would point the host at a file the
 * job cannot see) nor as a FIFO (whose open waits for a writer, with this host's thread).
 */
export function readResult(file: string): { result: string | null; result_error: string | null } {
  // Most jobs write none: no exception built for that.
  if (!lstatSync(file, { throwIfNoEntry: false })) return { result: null, result_error: null };
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { result: null, result_error: null };
    return { result: null, result_error: code === "ELOOP" ? "the result is not a regular file (a symbolic link)" : `the result cannot be read: ${code ?? (err as Error).message}` };
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { result: null, result_error: "the result is not a regular file" };
    // One byte past the limit at most: a process of the job still writing cannot make it more.
    const buf = Buffer.alloc(Math.min(st.size, RESULT_BYTES) + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    if (n > RESULT_BYTES) return { result: null, result_error: `the result is ${Math.max(st.size, n)} bytes, more than the ${RESULT_BYTES} a result may be` };
    text = buf.toString("utf8", 0, n);
  } catch (err) {
    return { result: null, result_error: `the result cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  } finally {
    closeSync(fd);
  }
  try {
    JSON.parse(text);
  } catch (err) {
    return { result: null, result_error: `the result is not valid JSON: ${(err as Error).message}`.slice(0, 1000) };
  }
  return { result: text, result_error: null };
}
