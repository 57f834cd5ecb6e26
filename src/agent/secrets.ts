/**
 * An agent's secrets: written by people, never read back through the API, given only to the
 * runs that name them. Each value is sealed with AES-GCM under the deployment's
 * TETHER_SECRETS_KEY, bound to its workspace, agent and name, so a sealed value copied to
 * another row or another agent does not open.
 */
import type { SecretView } from "../protocol/secret.js";
import { fromBase64 } from "../protocol/base64.js";

export class SecretsNotConfigured extends Error {}

const keys = new Map<string, Promise<CryptoKey>>();

function sealingKey(secret: string | undefined): Promise<CryptoKey> {
  if (!secret) throw new SecretsNotConfigured("this deployment has no TETHER_SECRETS_KEY, so it keeps no secrets (wrangler secret put TETHER_SECRETS_KEY)");
  let key = keys.get(secret);
  if (!key) {
    const b64 = secret.trim().replace(/-/g, "+").replace(/_/g, "/");
    const raw = fromBase64(b64.padEnd(Math.ceil(b64.length / 4) * 4, "="));
    if (!raw || raw.byteLength !== 32) throw new SecretsNotConfigured("TETHER_SECRETS_KEY must be 32 bytes in base64 (openssl rand -base64 32)");
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keys.set(secret, key);
  }
  return key;
}

export class AgentSecrets {
  constructor(
    private readonly sql: SqlStorage,
    private readonly keySecret: () => string | undefined,
    /** `workspace:agent`, bound into every sealed value. */
    private readonly owner: () => string,
  ) {}

  async put(name: string, value: string, now: number): Promise<void> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: this.aad(name) }, await sealingKey(this.keySecret()), new TextEncoder().encode(value));
    this.sql.exec(
      "INSERT INTO secrets (name, iv, sealed, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET iv = excluded.iv, sealed = excluded.sealed, updated_at = excluded.updated_at",
      name, iv, new Uint8Array(sealed), now,
    );
  }

  list(): SecretView[] {
    return this.sql
      .exec<{ name: string; updated_at: number }>("SELECT name, updated_at FROM secrets ORDER BY name")
      .toArray()
      .map((r) => ({ name: r.name, updated_at: new Date(r.updated_at).toISOString() }));
  }

  /** The names of these that do not exist. */
  missing(names: readonly string[]): string[] {
    // Every submit asks; most name no secret and should cost no read.
    if (!names.length) return [];
    return names.filter((n) => this.sql.exec("SELECT 1 FROM secrets WHERE name = ?", n).toArray().length === 0);
  }

  remove(name: string): boolean {
    return this.sql.exec("DELETE FROM secrets WHERE name = ?", name).rowsWritten > 0;
  }

  /** The values of the named secrets that exist, opened for one assignment. */
  async reveal(names: readonly string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    if (!names.length) return out;
    const key = await sealingKey(this.keySecret());
    for (const name of names) {
      const row = this.sql.exec<{ iv: ArrayBuffer; sealed: ArrayBuffer }>("SELECT iv, sealed FROM secrets WHERE name = ?", name).toArray()[0];
      if (!row) continue;
      const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: new Uint8Array(row.iv), additionalData: this.aad(name) }, key, row.sealed);
      out[name] = new TextDecoder().decode(plain);
    }
    return out;
  }

  private aad(name: string): Uint8Array {
    return new TextEncoder().encode(`tether-secret:v1:${this.owner()}:${name}`);
  }
}
