/** A workspace token's record, as the tokens API lists it: never the token itself. */
import { z } from "zod";

export const SCOPES = ["admin", "agents:read", "agents:write", "runs:read", "runs:write", "runs:approve", "schedules:read", "schedules:write"] as const;
export type Scope = (typeof SCOPES)[number];
/** "*" is every scope, admin included. */
export const TokenScopes = z.array(z.union([z.enum(SCOPES), z.literal("*")])).min(1).max(SCOPES.length + 1);

export interface TokenRecord {
  id: string;
  name: string;
  scopes: z.infer<typeof TokenScopes>;
  created_at: string;
  /** null: a long-lived service token. */
  expires_at: string | null;
  service: boolean;
  revoked_at: string | null;
}
