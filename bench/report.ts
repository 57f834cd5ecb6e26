/** The side-by-side table on the terminal, and results.json. */
import { writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem, type as osType } from "node:os";
import { FIGURES, type Figures } from "./figures.js";
import { round } from "./stats.js";
import type { SystemName } from "./target.js";

export interface Results {
  date: string;
  mode: "full" | "quick";
  only: string[] | null;
  machine: Record<string, string | number>;
  versions: Record<string, string>;
  setup: Record<string, string>;
  floors: Record<string, number | null>;
  tether: Figures;
  bullmq: Figures;
  bullmq_durable: Figures;
  goals: { figure: string; goal: string; value: number | null; met: boolean | null }[];
  notes: string[];
  extra: Partial<Record<SystemName | "object_floor_before" | "object_floor_after", Record<string, unknown>>>;
}

export function machine(): Record<string, string | number> {
  const c = cpus();
  return { cpu: c[0]?.model ?? "unknown", cores: c.length, memory_gb: Math.round(totalmem() / 2 ** 30), os: `${osType()} ${release()}`, arch: process.arch, load_average_1m_at_start: Number(loadavg()[0]!.toFixed(2)) };
}

export function goals(t: Figures, peer: Figures): Results["goals"] {
  const out: Results["goals"] = [];
  for (const f of FIGURES) {
    if (!("goal" in f)) continue;
    const v = t[f.key];
    const g = f.goal as { max?: number; min?: number; vsPeer?: boolean };
    if (g.max !== undefined) out.push({ figure: f.key, goal: `≤ ${g.max} ${f.unit}`, value: round(v), met: v === null ? null : v <= g.max });
    if (g.min !== undefined) out.push({ figure: f.key, goal: `≥ ${g.min} ${f.unit}`, value: round(v), met: v === null ? null : v >= g.min });
    if (g.vsPeer) {
      const p = peer[f.key];
      out.push({ figure: f.key, goal: "no worse than bullmq", value: round(v), met: v === null || p === null ? null : f.better === "lower" ? v <= p : v >= p });
    }
  }
  return out;
}

const fmt = (v: number | null) => (v === null ? "—" : String(round(v)));

const ratio = (t: number | null, p: number | null) => (t !== null && p !== null && p !== 0 ? `${round(t / p)}×` : "—");

/** One row per figure: the three systems, Tether's ratio to each peer, the goal. */
export function table(r: Results): string {
  const rows: string[][] = [["figure", "unit", "tether", "bullmq", "bullmq durable", "tether/bullmq", "tether/durable", "better", "goal (tether)"]];
  for (const f of FIGURES) {
    const t = r.tether[f.key];
    const p = r.bullmq[f.key];
    const d = r.bullmq_durable[f.key];
    const gs = r.goals.filter((g) => g.figure === f.key).map((g) => `${g.goal} ${g.met === null ? "?" : g.met ? "ok" : "SHORT"}`);
    rows.push([f.label, f.unit, fmt(t), fmt(p), fmt(d), ratio(t, p), ratio(t, d), f.better, gs.join("; ")]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i >= 2 && i <= 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(rows[0]!), widths.map((w) => "─".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

export function floorsText(r: Results): string {
  const f = r.floors;
  const parts = [
    `the stamp job spawned by a fresh ${fmt(f.spawn_parent_rss_mb ?? null)} MB Node process, no queue: p50 ${fmt(f.spawn_p50_ms ?? null)} ms, p90 ${fmt(f.spawn_p90_ms ?? null)} ms, p99 ${fmt(f.spawn_p99_ms ?? null)} ms`,
    `pipe: cat | cat > /dev/null ${fmt(f.pipe_mb_per_s ?? null)} MB/s; a Node process reading a child's stdout ${fmt(f.node_pipe_mb_per_s ?? null)} MB/s`,
    `tether-agent's redactor alone (the job token and one more secret): ${fmt(f.redactor_mb_per_s ?? null)} MB/s`,
  ];
  if (f.floor_objects_per_s != null) {
    parts.push(
      `objects: new SQLite-backed Durable Objects committing one row each, same workerd and disk, same calls in flight as throughput: ${fmt(f.floor_objects_per_s)} objects/s (${fmt(f.floor_objects_per_s_before ?? null)} before Tether, ${fmt(f.floor_objects_per_s_after ?? null)} after; workerd ${fmt(f.floor_cpu_ms_per_object ?? null)} CPU ms/object)`,
      `tether throughput / object floor: ${fmt(r.tether.throughput_jobs_per_s)} / ${fmt(f.floor_objects_per_s)} = ${fmt(f.throughput_over_floor ?? null)}`,
    );
    if (f.batched_over_floor != null) parts.push(`tether throughput, submitted 100 a call / object floor: ${fmt(r.tether.batched_jobs_per_s)} / ${fmt(f.floor_objects_per_s)} = ${fmt(f.batched_over_floor)}`);
  }
  if (f.spawn_per_s != null) {
    parts.push(`spawns: the throughput job started and ended by a fresh Node process, as many and as many at a time as throughput, no queue: ${fmt(f.spawn_per_s)} jobs/s (the machine ${fmt(f.spawn_machine_cpu_ms_per_job ?? null)} CPU ms/job)`);
    if (f.throughput_over_spawn != null) parts.push(`tether throughput / spawn floor: ${fmt(r.tether.throughput_jobs_per_s)} / ${fmt(f.spawn_per_s)} = ${fmt(f.throughput_over_spawn)}`);
    if (f.batched_over_spawn != null) parts.push(`tether throughput, submitted 100 a call / spawn floor: ${fmt(r.tether.batched_jobs_per_s)} / ${fmt(f.spawn_per_s)} = ${fmt(f.batched_over_spawn)}`);
  }
  for (const s of ["tether", "bullmq", "bullmq_durable"] as const) {
    const d = r[s].dispatch_p50_ms;
    if (d !== null && f.spawn_p50_ms != null) parts.push(`${s} dispatch p50 above the spawn floor: ${fmt(d - f.spawn_p50_ms)} ms`);
  }
  return parts.map((p) => `  ${p}`).join("\n");
}

export function writeResults(file: string, r: Results): void {
  const rounded = (fig: Figures) => Object.fromEntries(Object.entries(fig).map(([k, v]) => [k, round(v)]));
  const out = { ...r, tether: rounded(r.tether), bullmq: rounded(r.bullmq), bullmq_durable: rounded(r.bullmq_durable), floors: Object.fromEntries(Object.entries(r.floors).map(([k, v]) => [k, round(v)])) };
  writeFileSync(file, `${JSON.stringify(out, (_k, v) => (typeof v === "number" && !Number.isInteger(v) ? round(v) : v), 2)}\n`);
}
