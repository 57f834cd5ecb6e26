/** tether schedules create/update take tether run's job flags, checked the same way. */
import { describe, expect, it, vi } from "vitest";
import type { TetherClient } from "../../src/client/sdk.js";
import { schedulesCommand } from "../../src/cli/schedules.js";

/** The body the CLI would send: the client's method records it and answers as the API would. */
function recording() {
  const sent: unknown[] = [];
  const client = {
    createSchedule: async (_agent: string, body: unknown) => (sent.push(body), { id: "sch_1" }),
    updateSchedule: async (_id: string, body: unknown) => (sent.push(body), { id: "sch_1" }),
  } as unknown as TetherClient;
  return { sent, client: () => client };
}

describe("a schedule's job flags", () => {
  it("makes the job from tether run's flags", async () => {
    const r = recording();
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const code = await schedulesCommand(
      ["create", "local", "--cron", "*/5 * * * *", "--priority", "high", "--lane", "nightly", "--require", "gpu=true", "--prefer", "zone=a", "--timeout", "90s", "--attempts", "3", "-e", "A=1", "--", "sh", "-c", "date"],
      r.client,
    );
    log.mockRestore();
    expect(code).toBe(0);
    expect(r.sent[0]).toMatchObject({
      cron: "*/5 * * * *",
      run: { argv: ["sh", "-c", "date"], priority: "high", lane: "nightly", requires: { gpu: "true" }, prefer: { zone: "a" }, timeout_ms: 90_000, retry: { max_attempts: 3 }, env: { A: "1" } },
    });
  });

  it("refuses a bad job flag as a usage error before anything is sent, and the flags that are about one submit", async () => {
    const r = recording();
    const err = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(await schedulesCommand(["create", "local", "--cron", "* * * * *", "--priority", "hi", "--", "true"], r.client)).toBe(2);
    expect(await schedulesCommand(["create", "local", "--cron", "* * * * *", "--detach", "--", "true"], r.client)).toBe(2);
    expect(err.mock.calls.flat().join("\n")).toMatch(/--priority takes 0-9/);
    err.mockRestore();
    expect(r.sent).toEqual([]);
  });
});
