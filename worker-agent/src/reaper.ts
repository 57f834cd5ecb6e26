/**
 * Jobs run in process groups of their own, so they outlive tether-agent if it is killed with
 * SIGKILL or crashes, and would go on running while the edge retries them elsewhere. A small
 * shell in its own session holds a pipe from this process and the list of live job groups; when
 * the pipe closes, however this process ended, it kills what is left.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { noteMade } from "./pid-window.js";

// Lines are "+<pgid>" (a job group started) or "-<pgid>" (it is gone). Signals are ignored: only
// the end of the pipe ends it, so a Ctrl-C meant for the agent cannot take the reaper first.
const SCRIPT = `
trap '' INT TERM HUP QUIT
groups=" "
while IFS= read -r line; do
  case "$line" in
    +*) groups="$groups\${line#+} " ;;
    -*) p="\${line#-}"
        case "$groups" in *" $p "*) groups="\${groups%% $p *} \${groups#* $p }" ;; esac ;;
  esac
done
for p in $groups; do kill -s KILL -- "-$p" 2>/dev/null; done
`;

export class Reaper {
  private readonly child: ChildProcess | null;

  constructor() {
    if (process.platform === "win32") {
      this.child = null;
      return;
    }
    this.child = spawn("/bin/sh", ["-c", SCRIPT], { detached: true, stdio: ["pipe", "ignore", "ignore"] });
    noteMade(this.child.pid);
    this.child.on("error", () => {}); // without it, jobs still die on every exit but SIGKILL
    this.child.stdin!.on("error", () => {});
    // It must not keep this process alive, nor be waited for.
    this.child.unref();
    (this.child.stdin as Socket).unref();
  }

  watch(pgid: number): void {
    this.child?.stdin?.write(`+${pgid}\n`);
  }

  forget(pgid: number): void {
    this.child?.stdin?.write(`-${pgid}\n`);
  }
}
