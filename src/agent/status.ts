/** The agent's status snapshot, read from its own tables and sockets: the truth, not the index. */
import type { AgentStatus, HostStatus } from "../protocol/agent-status.js";
import { summarize } from "../protocol/run-index.js";
import type { RunStatus } from "../protocol/run.js";
import { hasLabels, hostOf, type Hosts } from "./hosts.js";
import { publicRun } from "./run-store.js";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const RUNNING_SHOWN = 100;
/** The p50s look at this many of the last day's runs at most, the latest. */
const SAMPLE = 5_000;

const runs = (sql: SqlStorage, query: string, ...args: SqlStorageValue[]) =>
  sql.exec<{ body: string }>(query, ...args).toArray().map((r) => summarize(publicRun(JSON.parse(r.body))));

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = xs.sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

function counts(sql: SqlStorage, since: number): Partial<Record<RunStatus, number>> {
  const out: Partial<Record<RunStatus, number>> = {};
  for (const r of sql.exec<{ status: RunStatus; n: number }>("SELECT status, COUNT(*) AS n FROM runs WHERE ended_at >= ? GROUP BY status", since)) out[r.status] = r.n;
  return out;
}

export function agentStatus(name: string, sql: SqlStorage, hosts: Hosts, now: number): AgentStatus {
  const busy = new Map(sql.exec<{ host_id: string; n: number }>("SELECT host_id, COUNT(*) AS n FROM runs WHERE status = 'running' GROUP BY host_id").toArray().map((r) => [r.host_id, r.n]));
  const hostList: HostStatus[] = [];
  for (const ws of hosts.all()) {
    const h = hostOf(ws);
    if (!h) continue;
    hostList.push({
      host_id: h.host_id, hostname: h.hostname, version: h.version, ...(h.policy && { policy: h.policy }), ...(h.runners && { runners: h.runners }), ...(h.labels && { labels: h.labels }),
      slots: h.slots, busy: busy.get(h.host_id) ?? 0, draining: h.draining, connected_at: h.connected_at, last_heard_at: new Date(hosts.lastSeen(ws)).toISOString(),
    });
  }
  const queued = sql.exec<{ ready_at: number | null; runner: string | null; created: string; requires: string | null; ckey: string | null; climit: number | null; debounce: string | null; attempt: number }>(
    "SELECT ready_at, runner, json_extract(body, '$.created_at') AS created, requires, ckey, climit, debounce, attempt FROM runs WHERE status = 'queued' ORDER BY seq",
  ).toArray();
  const runningByKey = new Map(sql.exec<{ ckey: string; n: number }>("SELECT ckey, COUNT(*) AS n FROM runs WHERE status = 'running' AND ckey IS NOT NULL GROUP BY ckey").toArray().map((r) => [r.ckey, r.n]));
  const waiting = new Map<string, number>();
  const live = hostList.filter((h) => !h.draining);
  const free = live.reduce((n, h) => n + Math.max(0, h.slots - h.busy), 0);
  for (const q of queued) {
    let why: string;
    if (q.ready_at !== null && q.ready_at > now) why = q.debounce !== null && q.attempt === 0 ? "debounced: waiting out its quiet time" : "waiting out a retry delay";
    else if (!hostList.length) why = "no host is connected";
    else if (!live.length) why = "every connected host is draining";
    else if (q.runner && !live.some((h) => h.runners?.includes(q.runner!))) why = `no connected host has the ${q.runner} runner`;
    else if (q.requires && !live.some((h) => hasLabels(h.labels, JSON.parse(q.requires!) as Record<string, string>))) {
      why = `no connected host has ${Object.entries(JSON.parse(q.requires) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(", ")}`;
    } else if (q.ckey && (runningByKey.get(q.ckey) ?? 0) >= (q.climit ?? 1)) why = `concurrency key ${JSON.stringify(q.ckey)} is at its limit`;
    else if (free === 0) why = "every slot is busy";
    else why = "being handed to a host";
    waiting.set(why, (waiting.get(why) ?? 0) + 1);
  }
  const sample = sql.exec<{ c: string; s: string | null; e: string | null }>(
    "SELECT json_extract(body, '$.created_at') AS c, json_extract(body, '$.started_at') AS s, json_extract(body, '$.ended_at') AS e FROM runs WHERE ended_at >= ? OR status = 'running' ORDER BY seq DESC LIMIT ?",
    now - DAY, SAMPLE,
  ).toArray();
  const waits = sample.filter((r) => r.s).map((r) => Date.parse(r.s!) - Date.parse(r.c));
  const times = sample.filter((r) => r.s && r.e).map((r) => Date.parse(r.e!) - Date.parse(r.s!));
  const approval = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM runs WHERE status = 'awaiting_approval'").one().n;
  if (approval) waiting.set("awaiting approval", approval);
  const oldest = queued[0];
  return {
    agent: name,
    at: new Date(now).toISOString(),
    hosts: hostList,
    queue: {
      depth: queued.length,
      awaiting_approval: approval,
      oldest_age_ms: oldest ? Math.max(0, now - Date.parse(oldest.created)) : null,
      waiting: [...waiting].sort((a, b) => b[1] - a[1]).map(([reason, n]) => ({ reason, runs: n })),
    },
    running: runs(sql, "SELECT body FROM runs WHERE status = 'running' ORDER BY seq LIMIT ?", RUNNING_SHOWN),
    recent: runs(sql, "SELECT body FROM runs WHERE ended_at IS NOT NULL ORDER BY ended_at DESC, seq DESC LIMIT 10"),
    ended: { last_hour: counts(sql, now - HOUR), last_day: counts(sql, now - DAY) },
    p50_wait_ms: median(waits),
    p50_run_ms: median(times),
  };
}
