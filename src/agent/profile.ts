/** The agent's own row: its name, workspace, host token generation and settings, read once and cached. */
import { AgentConfig, applyConfig, DEFAULT_AGENT_CONFIG, mergePatch, type AgentConfigPatch } from "../protocol/agent-config.js";
import type { Profile } from "./schema.js";

export class ProfileStore {
  /** Only this object changes the row, so it is read once and dropped where it changes. */
  private row: Profile | null | undefined;
  private cachedConfig: AgentConfig | undefined;

  constructor(private readonly sql: SqlStorage) {}

  /** The agent, or null when there is none (never made, or deleted). */
  get(): Profile | null {
    const row = this.owner();
    return row && !row.deleted ? row : null;
  }

  /** The row even of a deleted agent: its runs still belong to its workspace. */
  owner(): Profile | null {
    if (this.row === undefined) {
      this.row = this.sql.exec<Profile>("SELECT workspace, name, created_at, host_token_gen, config, incarnation, deleted FROM profile WHERE id = 1").toArray()[0] ?? null;
    }
    return this.row;
  }

  /** The agent's settings (a deleted agent's last ones, which its remaining runs keep). */
  config(): AgentConfig {
    return (this.cachedConfig ??= applyConfig(DEFAULT_AGENT_CONFIG, JSON.parse(this.owner()?.config ?? "{}") as AgentConfigPatch));
  }

  create(workspace: string, name: string, config: AgentConfigPatch): Profile {
    const incarnation = crypto.randomUUID();
    this.sql.exec(
      "INSERT OR REPLACE INTO profile (id, workspace, name, created_at, host_token_gen, config, incarnation, deleted) VALUES (1, ?, ?, ?, 1, ?, ?, 0)",
      workspace, name, new Date().toISOString(), JSON.stringify(config), incarnation,
    );
    return this.changed()!;
  }

  /** The agent is gone; its runs stay until their retention ends. */
  remove(): void {
    this.sql.exec("UPDATE profile SET deleted = 1 WHERE id = 1");
    // Its secrets go with it: an agent made later under the name starts with none.
    this.sql.exec("DELETE FROM secrets");
    this.changed();
  }

  /** Fields left out of the patch keep their value. */
  configure(patch: AgentConfigPatch): void {
    this.sql.exec("UPDATE profile SET config = ? WHERE id = 1", JSON.stringify(mergePatch(JSON.parse(this.get()!.config) as AgentConfigPatch, patch)));
    this.changed();
  }

  /** Host tokens of earlier generations stop working. */
  nextTokenGeneration(): Profile {
    this.sql.exec("UPDATE profile SET host_token_gen = host_token_gen + 1 WHERE id = 1");
    return this.changed()!;
  }

  /** The storage was wiped or rewritten behind the cache. */
  changed(): Profile | null {
    this.row = undefined;
    this.cachedConfig = undefined;
    return this.get();
  }
}
