/**
 * The hosts enrolled with an agent, each with its own credential generation. A host enrolls with
 * the agent's enrollment token and gets a credential bound to its id; enrolling the same id again
 * bumps the generation, so the credential it had before is refused from then on, and revoking a
 * host removes its row, so every credential it ever had is.
 */
import type { EnrolledHost } from "../protocol/agent.js";

interface Row {
  host_id: string;
  gen: number;
  hostname: string;
  enrolled_at: string;
  last_seen_at: string | null;
  [k: string]: SqlStorageValue;
}

export class Enrollment {
  constructor(private readonly sql: SqlStorage) {}

  /** Enrolls (or enrolls again) a host; returns the generation its new credential carries. */
  enroll(hostId: string, hostname: string): number {
    const now = new Date().toISOString();
    return this.sql
      .exec<{ gen: number }>(
        `INSERT INTO hosts (host_id, gen, hostname, enrolled_at, last_seen_at) VALUES (?, 1, ?, ?, ?)
         ON CONFLICT (host_id) DO UPDATE SET gen = gen + 1, hostname = excluded.hostname, enrolled_at = excluded.enrolled_at, last_seen_at = excluded.last_seen_at
         RETURNING gen`,
        hostId, hostname, now, now,
      )
      .one().gen;
  }

  /** Whether a credential of this generation is this host's current one. */
  valid(hostId: string, gen: number): boolean {
    return this.sql.exec<{ gen: number }>("SELECT gen FROM hosts WHERE host_id = ?", hostId).toArray()[0]?.gen === gen;
  }

  known(hostId: string): boolean {
    return this.sql.exec("SELECT 1 FROM hosts WHERE host_id = ?", hostId).toArray().length > 0;
  }

  seen(hostId: string, hostname: string): void {
    this.sql.exec("UPDATE hosts SET last_seen_at = ?, hostname = ? WHERE host_id = ?", new Date().toISOString(), hostname, hostId);
  }

  revoke(hostId: string): boolean {
    return this.sql.exec("DELETE FROM hosts WHERE host_id = ?", hostId).rowsWritten > 0;
  }

  revokeAll(): void {
    this.sql.exec("DELETE FROM hosts");
  }

  list(connected: (hostId: string) => boolean): EnrolledHost[] {
    return this.sql
      .exec<Row>("SELECT host_id, gen, hostname, enrolled_at, last_seen_at FROM hosts ORDER BY host_id")
      .toArray()
      .map((r) => ({ host_id: r.host_id, hostname: r.hostname, enrolled_at: r.enrolled_at, last_seen_at: r.last_seen_at, connected: connected(r.host_id) }));
  }
}
