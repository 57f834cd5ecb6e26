/** Tokens end to end: the CLI makes, lists and revokes them; a real job proves who it is to a third party. */
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, startStack, waitFor, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const tether = (token: string, ...args: string[]) => cli(s, args, { token });

describe("tokens", () => {
  it("tether token create, ls and revoke: the new token works until it is revoked, then is refused", async () => {
    const made = tether(s.token, "token", "create", "ci", "--scope", "runs:read", "--scope", "agents:read", "--ttl", "2h");
    expect(made.status, made.stderr).toBe(0);
    const rec = JSON.parse(made.stdout) as { id: string; token: string; expires_at: string; service: boolean };
    expect(rec.service).toBe(false);
    expect(Date.parse(rec.expires_at) - Date.now()).toBeGreaterThan(7_000_000);

    const ls = tether(s.token, "token", "ls");
    expect(ls.status).toBe(0);
    expect(ls.stdout).toContain(rec.id);
    expect(ls.stdout).not.toContain(rec.token);

    expect(tether(rec.token, "agents", "get", s.agent).status).toBe(0);
    // It has no admin scope, so it cannot make tokens.
    expect(tether(rec.token, "token", "ls").stderr).toMatch(/admin/);
    expect(tether(s.token, "token", "revoke", rec.id).status).toBe(0);
    const refused = tether(rec.token, "agents", "get", s.agent);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/revoked/);
  });

  it("a job asks for an identity token with its own token, and a third party verifies it with the JWKS over HTTP", async () => {
    const script = `fetch(process.env.TETHER_URL + "/v1/id-token", { method: "POST", headers: { authorization: "Bearer " + process.env.TETHER_TOKEN, "content-type": "application/json" }, body: JSON.stringify({ audience: "https://vault.example" }) }).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.status === 201 ? 0 : 1); })`;
    const run = await s.client.submit(s.agent, { argv: [process.execPath, "-e", script], labels: { team: "infra" } });
    const done = await waitFor("the job to end", async () => {
      const r = await s.client.get(run.id);
      return ["succeeded", "failed"].includes(r.status) ? r : null;
    });
    const out = Buffer.from(await s.client.output(run.id)).toString();
    expect(done.status, out).toBe("succeeded");
    const { token, issuer } = JSON.parse(out) as { token: string; issuer: string };
    const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(token, jwks, { issuer, audience: "https://vault.example", algorithms: ["EdDSA"] });
    expect(payload).toMatchObject({ workspace: "e2e", agent: s.agent, run: run.id, attempt: 1, labels: { team: "infra" }, schedule: null });
  });
});
