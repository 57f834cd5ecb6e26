/** Host trust end to end: a job cannot speak for its host, and a host the edge refuses says why and stops. */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { signToken } from "../../src/auth/tokens.js";
import { agentBin } from "../../src/local/paths.js";
import { CLOSE_PROTOCOL } from "../../src/protocol/version.js";
import { startStack, type Stack } from "./harness.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

// The job tries its own token where only its host's credential may go, then exits with its own code.
const HOSTILE = `
const http = require("node:http");
const url = new URL(process.env.TETHER_URL);
const tryUpgrade = (path) => new Promise((resolve) => {
  const req = http.get({ host: url.hostname, port: url.port, path, headers: {
    authorization: "Bearer " + process.env.TETHER_TOKEN, connection: "Upgrade", upgrade: "websocket",
    "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" } });
  req.on("response", (r) => { r.resume(); resolve(r.statusCode); });
  req.on("upgrade", (_r, sock) => { sock.destroy(); resolve(101); });
  req.on("error", (e) => resolve(e.message));
});
(async () => {
  const run = process.env.TETHER_RUN_ID, attempt = process.env.TETHER_ATTEMPT, agent = run.split("_").pop();
  console.log("stream", await tryUpgrade("/v1/runs/" + run + "/stream?attempt=" + attempt));
  console.log("connect", await tryUpgrade("/v1/agents/" + agent + "/connect"));
  process.exit(7);
})();
`;

describe("a job cannot speak for its host", () => {
  it("its token is refused on the output stream and the control socket, and the run ends with its real code and output", async () => {
    const run = await s.client.submit(s.agent, { argv: [process.execPath, "-e", HOSTILE] });
    const end = await s.client.wait(run.id);
    expect(end).toMatchObject({ status: "failed", exit_code: 7 });
    expect(Buffer.from(await s.client.output(run.id)).toString()).toBe("stream 403\nconnect 403\n");
  });
});

describe("a host the edge refuses", () => {
  it("exits saying why, instead of reconnecting in a loop", async () => {
    // A stand-in edge that speaks a protocol this host does not.
    const server = createServer();
    const wss = new WebSocketServer({ server });
    let connections = 0;
    wss.on("connection", (ws) => {
      connections++;
      ws.close(CLOSE_PROTOCOL, "host protocol 2 is not supported; this control plane speaks 3: upgrade tether-agent");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const token = await signToken(s.key, { kind: "enroll", ws: "e2e", agent: "elsewhere", gen: 1, inc: "x" });
    const child = spawn(process.execPath, [agentBin(), "--url", `http://127.0.0.1:${port}`, "--security", "full", "--sandbox", "off"], {
      env: { ...process.env, TETHER_HOST_TOKEN: token },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    wss.close();
    server.close();
    expect(code).toBe(3);
    expect(err).toContain("this control plane speaks 3: upgrade tether-agent");
    expect(connections).toBe(1);
  });
});
