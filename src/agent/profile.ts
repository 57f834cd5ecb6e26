/** The agent's own row: its name, workspace, host token generation and settings, read once and cached. */
import { AgentConfig, applyConfig, DEFAULT_AGENT_CONFIG, mergePatch, type AgentConfigPatch } from "../protocol/agent-config.js";
import type { Profile } from "./schema.js";

export class ProfileStore {
  /** Only this object changes the row, so it is read once and dropped where it changes. */
  private cached: Profile | null | undefined;
  private cachedConfig: AgentConfig | undefined;

  constructor(private readonly sql: SqlStorage) {}

  get(): Profile | null {
    if (this.cached === undefined) {
      this.cached = this.sql.exec<Profile>("SELECT workspace, name, created_at, host_token_gen, config FROM profile WHERE id = 1").toArray()[0] ?? null;
    }
    return this.cached;
  }

  /** The agent's settings; only called while the agent exists. */
  config(): AgentConfig {
    return (this.cachedConfig ??= applyConfig(DEFAULT_AGENT_CONFIG, JSON.parse(this.get()!.config) as AgentConfigPatch));
  }

  create(workspace: string, name: string, config: AgentConfigPatch): Profile {
    this.sql.exec(
      "INSERT INTO profile (id, workspace, name, created_at, host_token_gen, config) VALUES (1, ?, ?, ?, 1, ?)",
      workspace, name, new Date().toISOString(), JSON.stringify(config),
    );
    return this.changed()!;
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
    this.cached = undefined;
    this.cachedConfig = undefined;
    return this.get();
  }
}
