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

  // Miniflare's entry worker (or wrangler's dev proxy) in front would add hops to every request
  // and frame; it would also gzip a large JSON answer for a client that accepts gzip, as
  // Cloudflare's edge does in front of a deployed Worker.
  it("serves the Worker on its own socket: a large answer comes as the Worker made it", async () => {
    const large = await fetch(`${plane.url}/v1/openapi.json`, { headers: { "accept-encoding": "gzip" } });
    expect(large.headers.get("content-encoding")).toBe(null);
    expect((await large.json()).openapi).toMatch(/^3\./);
  });

  // In front of a deployed Worker, the edge gzips JSON; for an answer smaller than a packet that costs more than it saves.
  it("marks a small JSON answer to be sent as it is", async () => {
    const small = await fetch(`${plane.url}/health`, { headers: { "accept-encoding": "gzip" } });
    expect(small.headers.get("content-encoding")).toBe("identity");
    expect(await small.json()).toEqual({ ok: true });
  });
});
