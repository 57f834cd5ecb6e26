/**
 * Leases: which host holds which attempt. A lease lives while its host is heard from; the
 * timers that check it are keyed by run, so a run never has two lease checks in flight.
 */
export interface Lease {
  run_id: string;
  attempt: number;
  host_id: string;
  job: string;
  assigned_at: number;
  renewed_at: number;
  /** When the host was first found gone; null while it is connected. */
  missing_since: number | null;
  [k: string]: SqlStorageValue;
}

const COLUMNS = "run_id, attempt, host_id, job, assigned_at, renewed_at, missing_since";

export const leaseTimer = (runId: string) => `lease:${runId}`;
export const deadlineTimer = (runId: string) => `deadline:${runId}`;
export const retryTimer = (runId: string) => `retry:${runId}`;
export const queueTimeoutTimer = (runId: string) => `queue_timeout:${runId}`;
export const pendingTimer = (runId: string) => `pending:${runId}`;

export class Leases {
  constructor(private readonly sql: SqlStorage) {}

  get(runId: string): Lease | null {
    return this.sql.exec<Lease>(`SELECT ${COLUMNS} FROM leases WHERE run_id = ?`, runId).toArray()[0] ?? null;
  }

  /** The lease of exactly this attempt, or null when it was released or moved on. */
  of(runId: string, attempt: number): Lease | null {
    const l = this.get(runId);
    return l && l.attempt === attempt ? l : null;
  }

  forHost(hostId: string): Lease[] {
    return this.sql.exec<Lease>(`SELECT ${COLUMNS} FROM leases WHERE host_id = ?`, hostId).toArray();
  }

  grant(runId: string, attempt: number, hostId: string, job: string, now: number): void {
    this.sql.exec(
      `INSERT INTO leases (run_id, attempt, host_id, job, assigned_at, renewed_at, missing_since) VALUES (?, ?, ?, ?, ?, ?, NULL)
       ON CONFLICT (run_id) DO UPDATE SET attempt = excluded.attempt, host_id = excluded.host_id, job = excluded.job,
         assigned_at = excluded.assigned_at, renewed_at = excluded.renewed_at, missing_since = NULL`,
      runId, attempt, hostId, job, now, now,
    );
  }

  renew(runId: string, seenAt: number): void {
    this.sql.exec("UPDATE leases SET renewed_at = MAX(renewed_at, ?), missing_since = NULL WHERE run_id = ?", seenAt, runId);
  }

  markMissing(runId: string, since: number): void {
    this.sql.exec("UPDATE leases SET missing_since = COALESCE(missing_since, ?) WHERE run_id = ?", since, runId);
  }

  release(runId: string): void {
    this.sql.exec("DELETE FROM leases WHERE run_id = ?", runId);
  }

  count(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM leases").one().n;
  }
}
