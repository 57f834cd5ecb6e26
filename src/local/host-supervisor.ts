/**
 * The one tether-agent of `npm start`, kept running. A host that dies (a crash, the OOM killer,
 * someone's kill -9) is started again with backoff instead of taking the control plane down with
 * it: the plane holds every run and stays useful, and the new host picks up queued work. A host
 * that keeps dying is a fault a restart will not fix; then the supervisor gives up.
 *
 * The host runs in a process group of its own so a Ctrl-C at the terminal reaches only
 * `npm start`, which decides what the host is told (see start.ts); otherwise the host would act on
 * the terminal's SIGINT by itself and say something other than what `npm start` does.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { agentBin } from "./paths.js";

export interface SupervisedHost {
  /** Resolves when the first host is connected; rejects if the supervisor gives up before that. */
  connected: Promise<void>;
  /** Ends when the supervisor gives up, with why. */
  gaveUp: Promise<string>;
  /** The running host's pid, if one is running. */
  pid(): number | undefined;
  /** Sends the host a signal and stops restarting it; resolves when it has exited. */
  signal(signal: NodeJS.Signals): Promise<void>;
}

export const RESTART_LIMIT = 5;
export const RESTART_WINDOW_MS = 60_000;
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 8_000;

export function superviseHost(opts: { url: string; hostToken: string; slots: number; log(msg: string): void }): SupervisedHost {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  const restarts: number[] = [];
  let onConnected!: () => void;
  let onGiveUp!: (why: string) => void;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  const gaveUp = new Promise<string>((resolve) => (onGiveUp = resolve));

  const args = [agentBin(), "--url", opts.url, "--slots", String(opts.slots), ...localPolicy()];
  const start = () => {
    const c = spawn(process.execPath, args, {
      env: { ...process.env, TETHER_HOST_TOKEN: opts.hostToken },
      stdio: ["ignore", "inherit", "pipe"],
      detached: true,
    });
    child = c;
    let seen = "";
    c.stderr!.on("data", (b: Buffer) => {
      process.stderr.write(b);
      if (seen !== "done") {
        seen += b.toString();
        if (seen.includes(" connected to agent ")) {
          seen = "done";
          onConnected();
        }
      }
    });
    exited = new Promise((resolve) => c.once("exit", () => resolve()));
    c.once("exit", (code, sig) => {
      child = undefined;
      if (!stopping) restart(c.pid, sig ? `was killed by ${sig}` : `exited with code ${code}`);
    });
  };

  const restart = (pid: number | undefined, how: string) => {
    const now = Date.now();
    while (restarts.length && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length >= RESTART_LIMIT) {
      const why = `tether-agent (pid ${pid}) ${how}, its ${RESTART_LIMIT + 1}th exit within ${RESTART_WINDOW_MS / 1000} s; not restarting it again`;
      opts.log(why);
      stopping = true;
      onGiveUp(why);
      return;
    }
    restarts.push(now);
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (restarts.length - 1));
    opts.log(
      `tether-agent (pid ${pid}) ${how}; restarting it in ${delay / 1000} s ` +
        `(restart ${restarts.length}; more than ${RESTART_LIMIT} within ${RESTART_WINDOW_MS / 1000} s and npm start gives up)`,
    );
    timer = setTimeout(start, delay);
  };

  start();
  return {
    connected: Promise.race([connected, gaveUp.then((why) => Promise.reject(new Error(why)))]),
    gaveUp,
    pid: () => child?.pid,
    async signal(sig) {
      stopping = true;
      clearTimeout(timer);
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) c.kill(sig);
      await exited;
    },
  };
}

/**
 * npm start runs the person's own commands on their own machine, as the local stack does
 * (hosts.ts): any program, no sandbox. A tether-agent with a host policy defaults to an allowlist
 * and would refuse them; one from before the policy refuses the flags, so ask it which it is.
 */
function localPolicy(): string[] {
  const help = spawnSync(process.execPath, [agentBin(), "--help"], { encoding: "utf8" }).stdout ?? "";
  return help.includes("--security") ? ["--security", "full", "--sandbox", "off", "--exit-with-parent"] : [];
}
