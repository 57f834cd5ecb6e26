import { DurableObject } from "cloudflare:workers";
import { TokenStore, type TokenRecord } from "../auth/token-store.js";
import type { Env } from "../env.js";
import type { Schedule, SchedulePage } from "../protocol/schedule.js";
import { migrate } from "../storage/schema.js";
import { WORKSPACE_SCHEMA } from "./schema.js";

/** One change from an agent's object: the schedule as it now is, or null when it was deleted. */
export interface DirectoryItem {
  id: string;
  version: number;
  schedule: Schedule | null;
}

/** Creation time in ms, from the id (see ScheduleId). */
const createdAt = (id: string) => parseInt(id.slice(4, 16), 16);

/**
 * One per workspace: the directory that lists schedules across its agents. Each agent's object
 * is the source of truth and sends every change here; this copy may trail it by a moment.
 */
export class WorkspaceDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly tokens: TokenStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    migrate(ctx.storage, WORKSPACE_SCHEMA);
    this.tokens = new TokenStore(this.sql);
  }

  // The workspace's tokens: records to list them, and the revocations every request is checked against.
  async createToken(t: Parameters<TokenStore["create"]>[0]): Promise<TokenRecord> {
    return this.tokens.create(t);
  }
  async listTokens(): Promise<TokenRecord[]> {
    return this.tokens.list(Date.now());
  }
  async revokeToken(id: string): Promise<TokenRecord | null> {
    return this.tokens.revoke(id, Date.now());
  }
  async revokedTokens(): Promise<string[]> {
    return this.tokens.revoked(Date.now());
  }

  async apply(agent: string, items: DirectoryItem[]): Promise<void> {
    const removed = this.sql.exec<{ at: number }>("SELECT at FROM removed_agents WHERE agent = ?", agent).toArray()[0]?.at ?? -1;
    this.ctx.storage.transactionSync(() => {
      for (const it of items) {
        if (!it.schedule) {
          this.sql.exec("DELETE FROM schedules WHERE id = ? AND version <= ?", it.id, it.version);
        } else if (createdAt(it.id) > removed) {
          // A change that arrives late for an agent deleted since must not bring its schedule back.
          this.sql.exec(
            "INSERT INTO schedules (id, agent, version, body) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body WHERE excluded.version > schedules.version",
            it.id, agent, it.version, JSON.stringify(it.schedule),
          );
        }
      }
    });
  }

  /** The agent was deleted at `at` (its clock): its schedules go, and none made until then may return. */
  async removeAgent(agent: string, at: number): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM schedules WHERE agent = ?", agent);
      this.sql.exec("INSERT INTO removed_agents (agent, at) VALUES (?, ?) ON CONFLICT (agent) DO UPDATE SET at = MAX(at, excluded.at)", agent, at);
    });
  }

  /** Schedules in creation order, after the cursor (a schedule id). */
  async list(agent: string | null, after: string | null, limit: number): Promise<SchedulePage> {
    const rows = this.sql
      .exec<{ id: string; body: string }>(
        `SELECT id, body FROM schedules WHERE (?1 IS NULL OR agent = ?1) AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3`,
        agent, after, limit + 1,
      )
      .toArray();
    const page = rows.slice(0, limit);
    return {
      schedules: page.map((r) => JSON.parse(r.body) as Schedule),
      next_cursor: rows.length > limit ? page[page.length - 1]!.id : null,
    };
  }
}
