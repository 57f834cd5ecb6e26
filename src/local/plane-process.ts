/**
 * The control plane as a process of its own, for `npm start`. It runs in its own process
 * group so a Ctrl-C at the terminal reaches the supervisor, which stops the host first and
 * then this; it also stops when its parent goes away (its stdin closes).
 */
import { startControlPlane, type ControlPlane } from "./control-plane.js";

/**
 * How long a stop may take before this process kills its own group (itself and workerd). The
 * supervisor does the same, but one killed with -9 is no longer there to, and stopping workerd
 * has been seen to hang.
 */
const STOP_MS = 10_000;

async function main(): Promise<void> {
  let plane: ControlPlane | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Still starting: nothing to stop gently yet, and exiting was seen to leave a workerd running
    // (Miniflare's exit hooks do not cover every step of a start).
    if (!plane) return killOwnGroup();
    setTimeout(killOwnGroup, STOP_MS).unref();
    await plane.stop();
    process.exit(0);
  };
  // Listened for from the start, and ahead of wrangler's own listeners (which exit): a parent
  // gone while this starts (a Ctrl-C then) stops it too, rather than leave it starting on the
  // state with no one to stop it.
  process.prependListener("SIGTERM", () => void stop());
  process.prependListener("SIGINT", () => void stop());
  process.stdin.on("end", () => void stop());
  process.stdin.resume();
  // A parent gone before the address is written: stop, rather than die of the EPIPE.
  process.stdout.on("error", () => void stop());
  plane = await startControlPlane({
    persistDir: process.env.TETHER_PERSIST_DIR!,
    signingKey: process.env.TETHER_SIGNING_KEYS!,
    port: Number(process.env.TETHER_PORT ?? 0),
  });
  process.stdout.write(`${JSON.stringify({ url: plane.url })}\n`);
}

function killOwnGroup(): void {
  try {
    process.kill(-process.pid, "SIGKILL");
  } catch {
    process.kill(process.pid, "SIGKILL"); // not a group leader: started otherwise than by npm start
  }
}

main().catch((err: Error) => {
  console.error(`control plane: ${err.stack ?? err.message}`);
  process.exit(1);
});
