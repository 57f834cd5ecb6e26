/** The figures results.json holds for each system, how the table labels them, and the goals Tether is held to. */

export const FIGURES = [
  { key: "dispatch_p50_ms", label: "dispatch p50", unit: "ms", better: "lower", goal: { max: 5, vsPeer: true } },
  { key: "dispatch_p90_ms", label: "dispatch p90", unit: "ms", better: "lower" },
  { key: "dispatch_p99_ms", label: "dispatch p99", unit: "ms", better: "lower" },
  { key: "roundtrip_p50_ms", label: "round trip p50", unit: "ms", better: "lower", goal: { max: 15 } },
  { key: "roundtrip_p99_ms", label: "round trip p99", unit: "ms", better: "lower" },
  { key: "throughput_jobs_per_s", label: "throughput", unit: "jobs/s", better: "higher" },
  { key: "cpu_ms_per_job", label: "control plane CPU per job", unit: "ms", better: "lower" },
  { key: "batched_jobs_per_s", label: "throughput, submitted 100 a call", unit: "jobs/s", better: "higher" },
  { key: "batched_cpu_ms_per_job", label: "control plane CPU per job (100 a call)", unit: "ms", better: "lower" },
  { key: "output_mb_per_s", label: "output, stored", unit: "MB/s", better: "higher", goal: { min: 100 } },
  { key: "output_watch_mb_per_s", label: "output, live watcher", unit: "MB/s", better: "higher" },
  { key: "pipe_mb_per_s", label: "pipe (cat | cat > /dev/null)", unit: "MB/s", better: "higher" },
  { key: "live_p50_ms", label: "live line p50", unit: "ms", better: "lower" },
  { key: "live_p99_ms", label: "live line p99", unit: "ms", better: "lower", goal: { max: 50 } },
  { key: "input_p50_ms", label: "live input → process p50", unit: "ms", better: "lower", goal: { max: 10 } },
  { key: "input_p99_ms", label: "live input → process p99", unit: "ms", better: "lower" },
  { key: "sandbox_dispatch_p50_ms", label: "dispatch p50, job in sandbox", unit: "ms", better: "lower" },
  { key: "sandbox_added_p50_ms", label: "sandbox start (added to p50)", unit: "ms", better: "lower", goal: { max: 5 } },
  { key: "redaction_share_pct", label: "redaction, share of output time", unit: "%", better: "lower", goal: { max: 10 } },
  { key: "cancel_p50_ms", label: "cancel → group dead p50", unit: "ms", better: "lower", goal: { max: 50 } },
  { key: "schedule_late_p50_ms", label: "schedule fire → start p50", unit: "ms", better: "lower" },
  { key: "schedule_late_p99_ms", label: "schedule fire → start p99", unit: "ms", better: "lower", goal: { max: 1000 } },
  { key: "agent_rss_peak_mb", label: "host RSS peak, 1 GB job", unit: "MB", better: "lower", goal: { max: 100 } },
  { key: "index_page_p50_ms", label: "index: filtered page p50 (10k runs)", unit: "ms", better: "lower", goal: { max: 20 } },
  { key: "index_lag_p99_ms", label: "index lag at 100 runs/s p99", unit: "ms", better: "lower", goal: { max: 1000 } },
  { key: "keys_dispatch_p50_ms", label: "dispatch p50 behind 10k keyed runs", unit: "ms", better: "lower" },
  { key: "keys_added_p50_ms", label: "10k runs behind 100 keys (added to p50)", unit: "ms", better: "lower", goal: { max: 1 } },
  { key: "agent_rss_peak_8jobs_mb", label: "host RSS peak, 8 jobs", unit: "MB", better: "lower" },
] as const;

export type FigureKey = (typeof FIGURES)[number]["key"];
export type Figures = Record<FigureKey, number | null>;

export const emptyFigures = (): Figures => Object.fromEntries(FIGURES.map((f) => [f.key, null])) as Figures;

/** What a workload measured: the figures it owns and anything else worth keeping. */
export interface Measured {
  figures: Partial<Figures>;
  extra?: Record<string, unknown>;
  notes?: string[];
}
