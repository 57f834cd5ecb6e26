/** An agent's secret, set through the CLI from stdin, reaches a real job as env and never leaves its host in output. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, startStack, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const VALUE = "deploy-9f8e7d6c5b4a39281706";
const tether = (args: string[], input?: string) => cli(s, args, input === undefined ? {} : { input });

describe("secrets on a real host", () => {
  it("a job gets the secret it names as env; printed in two writes, it is redacted in its output", async () => {
    const set = tether(["secrets", "set", s.agent, "DEPLOY_TOKEN"], `${VALUE}\n`);
    expect(set.status, set.stderr).toBe(0);
    expect(tether(["secrets", "ls", s.agent]).stdout).toMatch(/^DEPLOY_TOKEN\t/);
    const script = 'head=${DEPLOY_TOKEN%????????}; printf %s "$head"; sleep 0.1; printf "%s\\n" "${DEPLOY_TOKEN#"$head"}"; echo "length ${#DEPLOY_TOKEN}"';
    const run = await s.client.submit(s.agent, { argv: ["sh", "-c", script], secrets: ["DEPLOY_TOKEN"] });
    expect(await s.client.wait(run.id)).toMatchObject({ status: "succeeded" });
    const out = Buffer.from(await s.client.output(run.id)).toString();
    expect(out).toBe(`[REDACTED]\nlength ${VALUE.length}\n`);
    const cli = tether(["run", s.agent, "--secret", "DEPLOY_TOKEN", "--", "sh", "-c", 'echo "token=$DEPLOY_TOKEN"']);
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toBe("token=[REDACTED]\n");
  });
});
