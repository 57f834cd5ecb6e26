import type { Context } from "hono";
import { z } from "zod";
import { LIMITS } from "../protocol/limits.js";
import { ProblemError } from "./problem.js";

function issues(err: z.ZodError) {
  return err.issues.map((i) => ({ path: i.path.length ? i.path.join(".") : "(body)", message: i.message }));
}

export function parseOr400<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errs = issues(r.error);
  throw new ProblemError(400, "invalid", `${what}: ${errs.map((e) => `${e.path}: ${e.message}`).join("; ")}`, errs);
}

/** Reads a bounded JSON body and validates it; the body must really be JSON, never an empty stand-in. */
export async function jsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new ProblemError(415, "unsupported-media-type", "send the body as JSON with Content-Type: application/json");
  }
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > LIMITS.bodyBytes) throw tooLarge();
  const text = await c.req.text();
  if (text.length > LIMITS.bodyBytes) throw tooLarge();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ProblemError(400, "invalid-json", `the body is not valid JSON: ${(e as Error).message}`);
  }
  return parseOr400(schema, value, "the body is invalid");
}

const tooLarge = () => new ProblemError(413, "too-large", `the body is larger than ${LIMITS.bodyBytes} bytes`);
