import { streamName } from "../protocol/frames.js";
import { toBase64 } from "./base64.js";
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

/** One log row as one Server-Sent Event; output bytes travel base64 so they stay exact. */
export function sseEvent(row: LogRow): Uint8Array {
  let name: string;
  let data: string;
  if (row.kind === KIND_OUTPUT) {
    name = "output";
    const b64 = toBase64(new Uint8Array(row.data as ArrayBuffer));
    data = `{"stream":"${streamName(row.stream)}","attempt":${row.attempt},"data":"${b64}"}`;
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
