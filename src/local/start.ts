/** npm start: Tether on this machine, the control plane in workerd plus one host agent. */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { TetherClient } from "../client/sdk.js";
import { localSigningKey } from "./keys.js";
import { repoRoot } from "./paths.js";
import { ensureAgent, startHostAgent, workspaceToken } from "./hosts.js";

const DIR = ".tether";
/** How long the host may take to cancel its jobs and report them before it is killed. */
const HOST_STOP_MS = 8_000;
const AGENT = "local";

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const signingKey = localSigningKey(join(DIR, "signing-key"));
  const wanted = Number(process.env.PORT ?? 8787);
  const port = (await isFree(wanted)) ? wanted : 0;
  const plane = await startPlaneProcess(join(DIR, "state"), signingKey, port);
  const token = await workspaceToken(signingKey, "local");
  const client = new TetherClient({ url: plane.url, token });
  const hostToken = await ensureAgent(client, AGENT);
  const host = startHostAgent({ url: plane.url, hostToken, slots: Number(process.env.TETHER_SLOTS ?? 4) });

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // The host first: it cancels its jobs and reports their ends while the control plane still listens.
    const killer = setTimeout(() => host.child.kill("SIGKILL"), HOST_STOP_MS);
    await host.stop("SIGQUIT");
    clearTimeout(killer);
    await plane.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  host.child.once("exit", (code) => {
    if (!stopping) {
      console.error(`tether-agent exited (${code}); stopping`);
      void stop(1);
    }
  });

  await host.connected;
  writeFileSync(join(DIR, "local.json"), `${JSON.stringify({ url: plane.url, token }, null, 2)}\n`, { mode: 0o600 });
  console.log(`
Tether is running.

  control plane  ${plane.proxyUrl}   (state in ${DIR}/state; the host and CLI use the Worker's own address, ${plane.url})
  agent          ${AGENT}, with one host on this machine
  token          ${token}

Try it (the CLI reads ${DIR}/local.json):

  npx tether run ${AGENT} -- sh -c 'echo hello from $(hostname); exit 3'
  curl -s -H "Authorization: Bearer $(node -p 'require("./${DIR}/local.json").token')" ${plane.proxyUrl}/v1/agents/${AGENT}

Ctrl-C stops everything.
`);
}

/** Starts dist/plane.mjs in its own process group and resolves once it says where it listens. */
function startPlaneProcess(persistDir: string, signingKey: string, port: number): Promise<{ url: string; proxyUrl: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [join(repoRoot(), "dist", "plane.mjs")], {
    detached: true,
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, TETHER_PERSIST_DIR: persistDir, TETHER_SIGNING_KEY: signingKey, TETHER_PORT: String(port) },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) {
        const { url, proxyUrl } = JSON.parse(line!) as { url: string; proxyUrl: string };
        resolve({
          url,
          proxyUrl,
          stop: async () => {
            child.kill("SIGTERM");
            await exited;
          },
        });
      }
    });
    child.once("exit", (code) => reject(new Error(`the control plane exited (${code}) before it was ready`)));
  });
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

main().catch((err: Error) => {
  console.error(`npm start: ${err.stack ?? err.message}`);
  process.exit(1);
});
