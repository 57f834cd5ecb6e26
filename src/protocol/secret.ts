import { z } from "zod";

/** A secret's name is the environment variable a run that names it gets: not one the host sets itself. */
export const SecretName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "a secret's name is an environment variable name (a letter or _, then letters, digits, _)")
  .refine((n) => !/^(TETHER_.*|HOME|TMPDIR|PATH)$/i.test(n), "TETHER_*, HOME, TMPDIR and PATH are set by the host, not by a secret");

/** Values shorter than the redactor's minimum would not be cut from output, so they are refused. */
export const SECRET_MIN_BYTES = 6;
export const SECRET_MAX_BYTES = 32 * 1024;

export const PutSecretBody = z.strictObject({
  value: z
    .string()
    .refine((v) => new TextEncoder().encode(v).byteLength >= SECRET_MIN_BYTES, `a secret is at least ${SECRET_MIN_BYTES} bytes (shorter ones could not be told from ordinary output to redact)`)
    .refine((v) => new TextEncoder().encode(v).byteLength <= SECRET_MAX_BYTES, `a secret is at most ${SECRET_MAX_BYTES} bytes`),
});

/** A secret as the API shows it: never its value. */
export interface SecretView {
  name: string;
  updated_at: string;
}
