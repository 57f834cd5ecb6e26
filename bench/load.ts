/**
 * How much of the machine something else used while the bench ran. The bench measures on a
 * shared machine; a busy neighbour slows every figure, so each system's share of the run says
 * how busy the rest of the machine was.
 */
import { cpus } from "node:os";
import { ownCpuMs } from "./cleanup.js";
import { machineBusyMs } from "./proc.js";

export interface Load {
  /** The bench and what it started, in cores (1 = one core busy all the time). */
  bench_cores: number;
  /** Everything else, in cores. */
  other_cores: number;
  cores: number;
}

export function loadMeter(): () => Load {
  const t0 = process.hrtime.bigint();
  const busy0 = machineBusyMs();
  const own0 = ownCpuMs();
  return () => {
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    const own = ownCpuMs() - own0;
    const busy = machineBusyMs() - busy0;
    return { bench_cores: own / wall, other_cores: Math.max(0, busy - own) / wall, cores: cpus().length };
  };
}
