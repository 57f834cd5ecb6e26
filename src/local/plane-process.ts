/**
 * The control plane as a process of its own, for `npm start`. It runs in its own process
 * group so a Ctrl-C at the terminal reaches the supervisor, which stops the host first and
 * then this; it also stops when its parent goes away (its stdin closes).
 */
import { startControlPlane } from "./control-plane.js";

async function main(): Promise<void> {
  const plane = await startControlPlane({
    persistDir: process.env.TETHER_PERSIST_DIR!,
    signingKey: process.env.TETHER_SIGNING_KEYS!,
    port: Number(process.env.TETHER_PORT ?? 0),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await plane.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  process.stdin.on("end", () => void stop());
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ url: plane.url, proxyUrl: plane.proxyUrl })}\n`);
}

main().catch((err: Error) => {
  console.error(`control plane: ${err.stack ?? err.message}`);
  process.exit(1);
});
