/** The SDK (and so the CLI) and a 429: a keyed submit waits out Retry-After, any other says it. */
import { describe, expect, it } from "vitest";
import { TetherClient, TetherError } from "../../src/client/sdk.js";

const problem = (retryAfter: string) =>
  new Response(JSON.stringify({ type: "about:blank", title: "Too Many Requests", status: 429, detail: "submissions to the agent are past the agent's rate_limit" }), {
    status: 429,
    headers: { "content-type": "application/problem+json", "retry-after": retryAfter },
  });
const created = () => new Response(JSON.stringify({ id: "run_1", status: "queued" }), { status: 201, headers: { "content-type": "application/json" } });

/** A client whose server answers from the list, noting when each request came. */
function clientWith(answers: (() => Response)[]) {
  const at: number[] = [];
  const bodies: unknown[] = [];
  const fetch = (async (_url: string, init?: RequestInit) => {
    at.push(Date.now());
    bodies.push(init?.body ? JSON.parse(String(init.body)) : undefined);
    return answers.shift()!();
  }) as typeof globalThis.fetch;
  return { client: new TetherClient({ url: "http://plane.test", token: "t", fetch }), at, bodies };
}

describe("Retry-After on 429", () => {
  it("a submit with an idempotency key is sent again after Retry-After", async () => {
    const { client, at } = clientWith([() => problem("1"), created]);
    expect(await client.submit("a", { argv: ["true"], idempotency_key: "k" })).toMatchObject({ id: "run_1" });
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(990);
  });

  it("a submit given no key gets one of its own, so it too waits out Retry-After, sent again with the same key", async () => {
    const { client, at, bodies } = clientWith([() => problem("1"), created]);
    expect(await client.submit("a", { argv: ["true"] })).toMatchObject({ id: "run_1" });
    expect(at).toHaveLength(2);
    const keys = bodies.map((b) => (b as { idempotency_key?: string }).idempotency_key);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it("a request that is not safe to repeat is not sent again: the error says the limit and the Retry-After", async () => {
    const { client, at } = clientWith([() => problem("7"), created]);
    const err = await client.configureAgent("a", { max_queued: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TetherError);
    expect((err as TetherError).status).toBe(429);
    expect((err as TetherError).retryAfterS).toBe(7);
    expect((err as TetherError).message).toBe("submissions to the agent are past the agent's rate_limit (Retry-After: 7 s)");
    expect(at).toHaveLength(1);
  });

  it("a keyed submit told to wait longer than a minute is left to the caller", async () => {
    const { client, at } = clientWith([() => problem("120"), created]);
    await expect(client.submit("a", { argv: ["true"], idempotency_key: "k" })).rejects.toMatchObject({ status: 429, retryAfterS: 120 });
    expect(at).toHaveLength(1);
  });
});
