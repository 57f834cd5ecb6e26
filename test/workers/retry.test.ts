import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY } from "../../src/protocol/run.js";
import { retryDelay } from "../../src/run/retry.js";

describe("retry policy", () => {
  it("by default retries a lost attempt once, and never a failed or timed-out one", () => {
    expect(retryDelay(DEFAULT_RETRY, 1, "lost")).toBe(1000);
    expect(retryDelay(DEFAULT_RETRY, 2, "lost")).toBeNull();
    expect(retryDelay(DEFAULT_RETRY, 1, "failed")).toBeNull();
    expect(retryDelay(DEFAULT_RETRY, 1, "timed_out")).toBeNull();
  });

  it("backs off exponentially up to the cap, or waits the same each time", () => {
    const p = { max_attempts: 10, on: ["failed" as const], delay_ms: 100, backoff: "exponential" as const, max_delay_ms: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelay(p, a, "failed"))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 3].map((a) => retryDelay({ ...p, backoff: "fixed" }, a, "failed"))).toEqual([100, 100, 100]);
    expect(retryDelay(p, 10, "failed")).toBeNull();
  });
});
