/** Reads a .cpuprofile (V8's sampling profile, from --cpu-prof or an inspector) into the functions that cost the most. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

export interface Hot {
  fn: string;
  /** Milliseconds sampled in the function itself. */
  self: number;
  /** Milliseconds sampled in it or anything it called (counted once per sample however deep the recursion). */
  total: number;
}

export function hottest(profile: unknown, top = 15): { sampledMs: number; idleMs: number; hot: Hot[] } {
  const p = profile as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: Node) => {
    const file = n.callFrame.url.split("/").slice(-2).join("/");
    return `${n.callFrame.functionName || "(anonymous)"} ${file ? `${file}:${n.callFrame.lineNumber + 1}` : ""}`.trim();
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let sampled = 0;
  let idle = 0;
  p.samples.forEach((id, i) => {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const leaf = byId.get(id);
    if (!leaf) return;
    sampled += ms;
    const leafName = name(leaf);
    if (leaf.callFrame.functionName === "(idle)" || leaf.callFrame.functionName === "(program)") idle += leaf.callFrame.functionName === "(idle)" ? ms : 0;
    self.set(leafName, (self.get(leafName) ?? 0) + ms);
    const seen = new Set<string>();
    for (let n: Node | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const k = name(n);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + ms);
    }
  });
  const hot = [...self.entries()]
    .map(([fn, s]) => ({ fn, self: s, total: total.get(fn) ?? s }))
    .sort((a, b) => b.self - a.self)
    .slice(0, top);
  return { sampledMs: sampled, idleMs: idle, hot };
}

export function hottestText(label: string, profile: unknown, top = 15): string {
  const h = hottest(profile, top);
  const busy = h.sampledMs - h.idleMs;
  const rows = h.hot.map((x) => `    ${x.self.toFixed(0).padStart(7)} ms self ${x.total.toFixed(0).padStart(7)} ms total  ${x.fn}`);
  return `  ${label}: ${busy.toFixed(0)} ms busy of ${h.sampledMs.toFixed(0)} ms sampled\n${rows.join("\n")}`;
}

/** The hottest functions of every profile in a directory (one per process). */
export function summarizeProfiles(dir: string, label: string): string {
  if (!existsSync(dir)) return `  ${label}: no profiles`;
  return readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => hottestText(`${label} ${f}`, JSON.parse(readFileSync(join(dir, f), "utf8"))))
    .join("\n");
}
