/** Which connections of a host send frames unmasked-in-effect (a zero key): only those no intermediary can read. */
import { describe, expect, it } from "vitest";
import { frameMask } from "../../worker-agent/src/frame-mask.js";

const zeroed = (url: string) => {
  const { generateMask } = frameMask(url);
  if (!generateMask) return false;
  const mask = Buffer.from([1, 2, 3, 4]);
  generateMask(mask);
  return mask.equals(Buffer.alloc(4));
};

describe("frameMask", () => {
  it("uses a zero key over TLS and on loopback", () => {
    for (const url of ["wss://tether.example.com/v1/runs/r/stream", "ws://127.0.0.1:8787/x", "ws://127.3.4.5/x", "ws://localhost:8787/x", "ws://[::1]:8787/x"]) expect(zeroed(url), url).toBe(true);
  });

  it("leaves ws's random key for plain ws:// across a network, where a proxy could read the frames", () => {
    for (const url of ["ws://10.0.0.5:8787/x", "ws://tether.internal/x", "ws://128.0.0.1/x", "ws://[::2]/x", "ws://localhost.evil.example/x"]) expect(zeroed(url), url).toBe(false);
  });
});
