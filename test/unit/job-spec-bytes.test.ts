/** A job's strings are bounded in UTF-8 bytes, not in characters: a short string of wide characters can be too long. */
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/protocol/limits.js";
import { JobSpec } from "../../src/protocol/run.js";

const withEnv = (value: string) => JobSpec.safeParse({ argv: ["true"], env: { V: value } });
const max = LIMITS.envValueBytes;

describe("an environment value's bound", () => {
  it("takes ASCII up to the byte and refuses one more", () => {
    expect(withEnv("a".repeat(max)).success).toBe(true);
    const over = withEnv("a".repeat(max + 1));
    expect(over.success).toBe(false);
    expect(over.error?.issues[0]?.message).toMatch(new RegExp(`longer than ${max} bytes`));
  });

  it("counts a three-byte character as three", () => {
    const fits = Math.floor(max / 3);
    expect(withEnv("€".repeat(fits)).success).toBe(true);
    expect(withEnv("€".repeat(fits + 1)).success).toBe(false); // a third of the characters, yet over
  });

  it("counts a character outside the BMP as four bytes, two units", () => {
    const fits = Math.floor(max / 4);
    expect(withEnv("😀".repeat(fits)).success).toBe(true);
    expect(withEnv("😀".repeat(fits + 1)).success).toBe(false);
  });

  it("counts a lone surrogate as the three bytes it is encoded to", () => {
    const fits = Math.floor(max / 3);
    expect(withEnv("\ud800".repeat(fits)).success).toBe(true);
    expect(withEnv("\ud800".repeat(fits + 1)).success).toBe(false);
  });
});
