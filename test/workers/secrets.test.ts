/** An agent's secrets: write-only through the API, sealed at rest, given only in the assignment of a run that names them. */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { agentStub, type Env } from "../../src/env.js";
import { call, freshWorkspace, workspaceToken } from "./helpers.js";
import { enroll } from "./hosts.js";

const E = env as unknown as Env;
const VALUE = "s3cr3t-value-that-must-not-leak";

async function agent(name: string) {
  const ws = freshWorkspace();
  const t = await workspaceToken(ws);
  const enrollToken = (await call(t, "POST", "/v1/agents", { name })).json.host_token as string;
  return { ws, t, enrollToken };
}

describe("secrets", () => {
  it("are set and listed by name, never given back, and sealed at rest", async () => {
    const { ws, t } = await agent("sealed");
    const put = await call(t, "PUT", "/v1/agents/sealed/secrets/DEPLOY_TOKEN", { value: VALUE });
    expect(put.status).toBe(204);
    const list = await call(t, "GET", "/v1/agents/sealed/secrets");
    expect(list.json.secrets).toEqual([{ name: "DEPLOY_TOKEN", updated_at: expect.any(String) }]);
    expect(list.text).not.toContain(VALUE);
    expect((await call(t, "GET", "/v1/agents/sealed")).text).not.toContain(VALUE);
    const stored = await runInDurableObject(agentStub(E, ws, "sealed"), (_o, state) =>
      state.storage.sql.exec<{ sealed: ArrayBuffer }>("SELECT sealed FROM secrets").toArray().map((r) => new TextDecoder("latin1").decode(r.sealed)),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]).not.toContain(VALUE);
    expect((await call(t, "DELETE", "/v1/agents/sealed/secrets/DEPLOY_TOKEN")).status).toBe(204);
    expect((await call(t, "DELETE", "/v1/agents/sealed/secrets/DEPLOY_TOKEN")).status).toBe(404);
    expect((await call(t, "GET", "/v1/agents/sealed/secrets")).json.secrets).toEqual([]);
  });

  it("refuse bad names, short values, unknown agents and tokens without agents:write, changing nothing", async () => {
    const { ws, t } = await agent("bad");
    for (const [path, body, status] of [
      ["/v1/agents/bad/secrets/TETHER_TOKEN", { value: VALUE }, 400],
      ["/v1/agents/bad/secrets/PATH", { value: VALUE }, 400],
      ["/v1/agents/bad/secrets/has-dash", { value: VALUE }, 400],
      ["/v1/agents/bad/secrets/SHORT", { value: "abc" }, 400],
      ["/v1/agents/bad/secrets/EXTRA", { value: VALUE, more: 1 }, 400],
      ["/v1/agents/ghost/secrets/FINE", { value: VALUE }, 404],
    ] as const) {
      const r = await call(t, "PUT", path, body);
      expect(r.status, path).toBe(status);
      expect(r.type).toContain("application/problem+json");
    }
    const reader = await workspaceToken(ws, ["agents:read"]);
    expect((await call(reader, "PUT", "/v1/agents/bad/secrets/FINE", { value: VALUE })).status).toBe(403);
    expect((await call(t, "GET", "/v1/agents/bad/secrets")).json.secrets).toEqual([]);
  });

  it("go only to the assignment of a run that names them; a run naming one the agent lacks is a 400", async () => {
    const { t, enrollToken } = await agent("given");
    await call(t, "PUT", "/v1/agents/given/secrets/DEPLOY_TOKEN", { value: VALUE });
    const missing = await call(t, "POST", "/v1/agents/given/runs", { argv: ["true"], secrets: ["NOPE"] });
    expect(missing.status).toBe(400);
    expect(missing.json.detail).toMatch(/no secret NOPE/);
    const clash = await call(t, "POST", "/v1/agents/given/runs", { argv: ["true"], secrets: ["DEPLOY_TOKEN"], env: { DEPLOY_TOKEN: "x" } });
    expect(clash.status).toBe(400);

    const h = await enroll("given", enrollToken, "h", { slots: 2 });
    const plain = (await call(t, "POST", "/v1/agents/given/runs", { argv: ["true"] })).json;
    const a1 = await h.sock.next();
    expect(a1).toMatchObject({ type: "assign", run_id: plain.id });
    expect(a1.secrets).toBeUndefined();
    const named = (await call(t, "POST", "/v1/agents/given/runs", { argv: ["true"], secrets: ["DEPLOY_TOKEN"] })).json;
    const a2 = await h.sock.next();
    expect(a2).toMatchObject({ type: "assign", run_id: named.id, secrets: { DEPLOY_TOKEN: VALUE } });
    const shown = await call(t, "GET", `/v1/runs/${named.id}`);
    expect(shown.text).not.toContain(VALUE);
    h.sock.sock.close(1000);
  });

  it("go with their agent: one made again under the name starts with none", async () => {
    const { t } = await agent("again");
    await call(t, "PUT", "/v1/agents/again/secrets/DEPLOY_TOKEN", { value: VALUE });
    expect((await call(t, "DELETE", "/v1/agents/again")).status).toBe(204);
    expect((await call(t, "POST", "/v1/agents", { name: "again" })).status).toBe(201);
    expect((await call(t, "GET", "/v1/agents/again/secrets")).json.secrets).toEqual([]);
  });
});
