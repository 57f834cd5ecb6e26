import type { RunObject } from "../../agent/agent-do.js";

/**
 * A run's reads go to its object where it has one. An attempt that started may have made one
 * (opening its output stream does), which its agent hears for sure only at the attempt's end: that
 * object is asked without being made, and answers null if it never was. Null: read the agent's changes.
 */
export function fromObject<T>(object: RunObject, read: (ifMade: boolean) => Promise<T | null>): Promise<T | null> {
  return object === "none" ? Promise.resolve(null) : read(object === "maybe");
}
