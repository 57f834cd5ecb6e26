import { streamName } from "../protocol/frames.js";
import { toBase64 } from "../protocol/base64.js";
import { KIND_EVENT, KIND_OUTPUT } from "./schema.js";

export interface LogRow {
  id: number;
  kind: number;
  attempt: number;
  stream: number;
  data: ArrayBuffer | string;
  [key: string]: SqlStorageValue;
}

const enc = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A chunk's bytes as text when they are whole UTF-8, so `curl -N` of a watch is readable; null otherwise. */
function asText(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * One log row as one Server-Sent Event. Output that is valid UTF-8 travels as `text`; anything
 * else (binary, or a chunk that ends inside a character) as base64 `data`, so it stays exact.
 */
export function sseEvent(row: LogRow): Uint8Array {
  let name: string;
  let data: string;
  if (row.kind === KIND_OUTPUT) {
    name = "output";
    const bytes = new Uint8Array(row.data as ArrayBuffer);
    const text = asText(bytes);
    const body = text === null ? `"data":"${toBase64(bytes)}"` : `"text":${JSON.stringify(text)}`;
    data = `{"stream":"${streamName(row.stream)}","attempt":${row.attempt},${body}}`;
  } else {
    name = row.kind === KIND_EVENT ? "event" : "state";
    data = row.data as string;
  }
  return enc.encode(`id: ${row.id}\nevent: ${name}\ndata: ${data}\n\n`);
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};
