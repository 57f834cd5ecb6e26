/**
 * The object floor's Worker: each `POST /object` creates a new Durable Object (a fresh name, as
 * Tether names each run's object) and calls it over RPC, as Tether's Worker calls its objects;
 * the object commits one row to its own SQLite database and answers once the commit is on
 * disk (the runtime holds the answer until then). Nothing else: what it costs is what one new
 * object with one durable write costs on this workerd and this disk.
 */
import { DurableObject } from "cloudflare:workers";

interface ObjectNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { commit(): Promise<number> };
}

interface Env {
  FLOOR: ObjectNamespace;
}

export class FloorObject extends DurableObject<Env> {
  commit(): number {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)");
    sql.exec("INSERT INTO rows (at) VALUES (?)", Date.now());
    return 1;
  }
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    if (req.method !== "POST" || new URL(req.url).pathname !== "/object") return new Response("not found", { status: 404 });
    const rows = await env.FLOOR.get(env.FLOOR.idFromName(crypto.randomUUID())).commit();
    return new Response(String(rows));
  },
};
