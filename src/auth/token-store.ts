/**
 * Workspace token records and their revocations, in the workspace's object. The token itself is
 * never stored: only what lists it and what revokes it.
 */
import type { TokenRecord } from "../protocol/token.js";

export type { TokenRecord };

export const TOKENS_STEP = `CREATE TABLE tokens (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     scopes TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     revoked_at INTEGER
   );
   CREATE INDEX tokens_revoked ON tokens (revoked_at) WHERE revoked_at IS NOT NULL;`;

interface Row {
  id: string;
  name: string;
  scopes: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  [k: string]: SqlStorageValue;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const toRecord = (r: Row): TokenRecord => ({
  id: r.id,
  name: r.name,
  scopes: JSON.parse(r.scopes) as TokenRecord["scopes"],
  created_at: iso(r.created_at)!,
  expires_at: iso(r.expires_at),
  service: r.expires_at === null,
  revoked_at: iso(r.revoked_at),
});

export class TokenStore {
  constructor(private readonly sql: SqlStorage) {}

  create(t: { id: string; name: string; scopes: TokenRecord["scopes"]; created_at: number; expires_at: number | null }): TokenRecord {
    this.sql.exec("INSERT INTO tokens (id, name, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?)", t.id, t.name, JSON.stringify(t.scopes), t.created_at, t.expires_at);
    return this.get(t.id)!;
  }

  get(id: string): TokenRecord | null {
    const row = this.sql.exec<Row>("SELECT * FROM tokens WHERE id = ?", id).toArray()[0];
    return row ? toRecord(row) : null;
  }

  /** Live tokens, newest first; expired and revoked ones drop out. */
  list(now: number): TokenRecord[] {
    return this.sql
      .exec<Row>("SELECT * FROM tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, id", now)
      .toArray()
      .map(toRecord);
  }

  /** Revokes once: null when there is no such token, the record as it now is otherwise. */
  revoke(id: string, now: number): TokenRecord | null {
    this.sql.exec("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now, id);
    return this.get(id);
  }

  /** Ids revoked and not yet expired: an expired token is refused anyway, so the list stays short. */
  revoked(now: number): string[] {
    // Records long expired go: nothing can use them, and the table should not grow forever.
    this.sql.exec("DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at < ?", now - 86_400_000);
    return this.sql
      .exec<{ id: string }>("SELECT id FROM tokens WHERE revoked_at IS NOT NULL AND (expires_at IS NULL OR expires_at > ?)", now - 60_000)
      .toArray()
      .map((r) => r.id);
  }
}
