/** What both fuzzers share: the seed and run counts (bindings from vitest.config.ts), and odd values. */
import { env } from "cloudflare:workers";
import fc from "fast-check";

const bindings = env as unknown as { FUZZ_SEED?: string; FUZZ_REQUESTS?: string; FUZZ_FRAMES?: string };

/** Fixed in `npm test`, so a failure there reproduces; `npm run fuzz` picks one and prints it. */
export const SEED = Number(bindings.FUZZ_SEED || 15);
export const REQUESTS = Number(bindings.FUZZ_REQUESTS || 5000);
export const FRAMES = Number(bindings.FUZZ_FRAMES || 5000);

const NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-".split("");
/** Strings of name characters; cheaper to make than fc.stringMatching, which dominated the time. */
export const nameLike = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength, maxLength });

/** Strings that have broken parsers before: empty, huge, control bytes, encodings, path tricks. */
export const oddString = fc.oneof(
  fc.constantFrom("", " ", "..", ".", "%", "%00", "%ZZ", "%2F", "\u0000", "\uFFFF", "😀", "a".repeat(300), "null", "-1", "1e309", "NaN", "__proto__", "constructor"),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  nameLike(1, 70),
);

/** JSON of any shape, kept small so thousands fit in the time. */
export const anyJson = fc.jsonValue({ maxDepth: 2 });

/** A valid object with one change: a field replaced, removed, or one added. */
export function mutated(sample: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(sample);
  return fc.oneof(
    fc.constant(sample),
    fc.tuple(fc.constantFrom(...keys), fc.oneof(anyJson, oddString)).map(([k, v]) => ({ ...sample, [k]: v })),
    fc.constantFrom(...keys).map((k) => Object.fromEntries(Object.entries(sample).filter(([key]) => key !== k))),
    fc.tuple(oddString, anyJson).map(([k, v]) => ({ ...sample, [k]: v })),
    anyJson,
  );
}
