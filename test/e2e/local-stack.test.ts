import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlane } from "../../src/local/stack.js";

describe("the local control plane", () => {
  const dir = mkdtempSync(join(tmpdir(), "tether-plane-"));
  let plane: ControlPlane;
  beforeAll(async () => {
    plane = await startControlPlane({ persistDir: join(dir, "state"), signingKey: randomBytes(32).toString("base64url") });
  });
  afterAll(async () => {
    await plane?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Through the proxy every request and frame would cross a second workerd process.
  it("hands out the Worker's own address, not wrangler's dev proxy, and both answer", async () => {
    expect(plane.url).not.toBe(plane.proxyUrl);
    for (const base of [plane.url, plane.proxyUrl]) {
      const res = await fetch(`${base}/health`);
      expect(res.status).toBe(200);
    }
  });

  // workerd gzips JSON as Cloudflare's edge does; for an answer smaller than a packet that costs a local call more than it saves.
  it("sends a small JSON answer as it is and still compresses a large one, to a client that accepts gzip", async () => {
    const small = await fetch(`${plane.url}/health`, { headers: { "accept-encoding": "gzip" } });
    expect(small.headers.get("content-encoding")).toBe("identity");
    expect(await small.json()).toEqual({ ok: true });
    const large = await fetch(`${plane.url}/v1/openapi.json`, { headers: { "accept-encoding": "gzip" } });
    expect(large.headers.get("content-encoding")).toBe("gzip");
    expect((await large.json()).openapi).toMatch(/^3\./);
  });
});
