import type { Context } from "hono";
import { z } from "zod";
import { bodyTooLarge, MAX_BODY_BYTES } from "./body-limit.js";
import { ProblemError } from "./problem.js";

/** How many issues, and how long each, a 400 repeats: enough to fix the body, not a copy of it. */
const MAX_ISSUES = 20;
const MAX_MESSAGE = 300;

function issues(err: z.ZodError) {
  const clip = (s: string) => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s);
  return err.issues.map((i) => ({ path: clip(i.path.length ? i.path.join(".") : "(body)"), message: clip(i.message) }));
}

export function parseOr400<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  // A body of thousands of bad fields (or one of thousands of unknown keys) would otherwise
  // echo back as a detail nearly as large as itself.
  const all = issues(r.error);
  const errs = all.slice(0, MAX_ISSUES);
  const more = all.length > errs.length ? `; and ${all.length - errs.length} more` : "";
  throw new ProblemError(400, "invalid", `${what}: ${errs.map((e) => `${e.path}: ${e.message}`).join("; ")}${more}`, errs);
}

/**
 * Reads the JSON body and validates it; the body must really be JSON, never an empty stand-in.
 * The bodyLimit middleware has already bounded it; the size is checked again in bytes so this
 * stays safe wherever it is used.
 */
export async function jsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new ProblemError(415, "unsupported-media-type", "send the body as JSON with Content-Type: application/json");
  }
  const declared = c.req.header("content-length");
  if (declared && /^\d+$/.test(declared) && Number(declared) > MAX_BODY_BYTES) throw bodyTooLarge();
  const bytes = await c.req.arrayBuffer();
  if (bytes.byteLength > MAX_BODY_BYTES) throw bodyTooLarge();
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ProblemError(400, "invalid-json", "the body is not valid UTF-8, so it cannot be JSON");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ProblemError(400, "invalid-json", `the body is not valid JSON: ${(e as Error).message}`);
  }
  return parseOr400(schema, value, "the body is invalid");
}

// Fatal, because a replacement character silently standing in for bad bytes would change what was sent.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
