/**
 * A Server-Sent Events reader over a fetch body: yields {id, event, data} frames. It works
 * line by line on each read, so a large event (an output chunk is up to ~350 KB of base64)
 * is copied once, not once per network read.
 */
export interface SseFrame {
  id: string | null;
  event: string;
  data: string;
}

interface Building {
  id: string | null;
  event: string;
  data: string[];
}

const fresh = (): Building => ({ id: null, event: "message", data: [] });

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let partial: string[] = [];
  let ev = fresh();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const text = decoder.decode(value, { stream: true });
      let from = 0;
      for (;;) {
        const nl = text.indexOf("\n", from);
        if (nl < 0) {
          if (from < text.length) partial.push(text.slice(from));
          break;
        }
        let line = text.slice(from, nl);
        from = nl + 1;
        if (partial.length) {
          partial.push(line);
          line = partial.join("");
          partial = [];
        }
        if (line.endsWith("\r")) line = line.slice(0, -1);
        if (line === "") {
          if (ev.data.length) yield { id: ev.id, event: ev.event, data: ev.data.join("\n") };
          ev = fresh();
        } else {
          field(ev, line);
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function field(ev: Building, line: string): void {
  if (line.startsWith(":")) return;
  const colon = line.indexOf(":");
  const name = colon < 0 ? line : line.slice(0, colon);
  const value = colon < 0 ? "" : line.slice(colon + (line[colon + 1] === " " ? 2 : 1));
  if (name === "id") ev.id = value;
  else if (name === "event") ev.event = value;
  else if (name === "data") ev.data.push(value);
}
