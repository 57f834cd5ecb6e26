/**
 * Reads Claude Code's stream-json output as it comes (one JSON object per line): assistant text
 * and tool uses become run events, and the final `result` message becomes the run's result —
 * its text, token usage, cost, model, session and turns. The bytes themselves go on unchanged.
 */

/** A run event from the stream, flat so it travels as it is. */
export type ClaudeEvent = { type: "assistant" | "tool_use"; [k: string]: string | number | boolean | null };

const TEXT_MAX = 2000;
/** A line longer than this is not a message this reader follows (its bytes still go on). */
const LINE_MAX = 4 * 1024 * 1024;

interface Message {
  type?: string;
  subtype?: string;
  model?: string;
  session_id?: string;
  message?: { model?: string; content?: { type?: string; text?: string; name?: string; input?: unknown }[] };
  result?: string;
  is_error?: boolean;
  num_turns?: number;
  total_cost_usd?: number;
  duration_ms?: number;
  usage?: Record<string, unknown>;
}

export class ClaudeStream {
  private partial = "";
  private model: string | null = null;
  private final: Record<string, unknown> | null = null;

  constructor(private readonly emit: (e: ClaudeEvent) => void) {}

  feed(bytes: Buffer): void {
    this.partial += bytes.toString("utf8");
    let nl: number;
    while ((nl = this.partial.indexOf("\n")) >= 0) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      this.line(line);
    }
    if (this.partial.length > LINE_MAX) this.partial = "";
  }

  /** The run's result, or why there is none (the stream ended before its result message). */
  finish(): { result: string | null; result_error: string | null } {
    if (this.partial.trim()) this.line(this.partial);
    if (!this.final) return { result: null, result_error: "the claude stream ended without a result message" };
    return { result: JSON.stringify(this.final), result_error: null };
  }

  private line(text: string): void {
    let m: Message;
    try {
      m = JSON.parse(text) as Message;
    } catch {
      return; // a line cut off, or not JSON: not a message
    }
    if (m.type === "system" && m.subtype === "init") this.model = m.model ?? this.model;
    if (m.type === "assistant") {
      this.model = m.message?.model ?? this.model;
      for (const part of m.message?.content ?? []) {
        if (part.type === "text" && part.text) this.emit({ type: "assistant", text: part.text.slice(0, TEXT_MAX) });
        if (part.type === "tool_use") this.emit({ type: "tool_use", name: String(part.name ?? ""), input: JSON.stringify(part.input ?? null).slice(0, TEXT_MAX) });
      }
    }
    if (m.type === "result") {
      const u = m.usage ?? {};
      const n = (k: string) => (typeof u[k] === "number" ? (u[k] as number) : 0);
      this.final = {
        text: m.result ?? null,
        is_error: m.is_error ?? m.subtype !== "success",
        subtype: m.subtype ?? null,
        usage: {
          input_tokens: n("input_tokens"),
          output_tokens: n("output_tokens"),
          cache_creation_input_tokens: n("cache_creation_input_tokens"),
          cache_read_input_tokens: n("cache_read_input_tokens"),
        },
        cost_usd: m.total_cost_usd ?? null,
        model: this.model,
        session_id: m.session_id ?? null,
        num_turns: m.num_turns ?? null,
        duration_ms: m.duration_ms ?? null,
      };
    }
  }
}
