/**
 * Binary batch frame: [u8 kind=1][u32 attempt][u32 first_seq][u16 count] then per chunk
 * [u8 stream][u32 length][bytes]. Chunks are numbered per attempt from 1, so a resent batch
 * is recognised and stored once.
 */
export const STDOUT = 1;
export const STDERR = 2;
export type StreamNo = typeof STDOUT | typeof STDERR;
export const streamName = (s: number) => (s === STDOUT ? "stdout" : "stderr");

export interface Chunk {
  seq: number;
  stream: StreamNo;
  data: Uint8Array;
}

export interface Batch {
  attempt: number;
  chunks: Chunk[];
}

const HEADER = 11;
const CHUNK_HEADER = 5;

/** A chunk to encode; its bytes may still be in the pieces they were read in. */
export interface ChunkOut {
  seq: number;
  stream: StreamNo;
  data: Uint8Array | readonly Uint8Array[];
}

const pieces = (d: ChunkOut["data"]): readonly Uint8Array[] => (d instanceof Uint8Array ? [d] : d);
const length = (d: ChunkOut["data"]) => pieces(d).reduce((n, p) => n + p.byteLength, 0);

/**
 * Encodes consecutive chunks (numbered from the first one's seq) into one frame, copying each
 * byte once; into `into` when it is large enough (a buffer the caller reuses), else a new one.
 */
export function encodeBatch(attempt: number, chunks: readonly ChunkOut[], into?: Uint8Array): Uint8Array {
  let size = HEADER;
  for (const c of chunks) size += CHUNK_HEADER + length(c.data);
  const out = into && into.byteLength >= size ? into.subarray(0, size) : new Uint8Array(size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint8(0, 1);
  view.setUint32(1, attempt);
  view.setUint32(5, chunks.length ? chunks[0]!.seq : 0);
  view.setUint16(9, chunks.length);
  let at = HEADER;
  for (const c of chunks) {
    view.setUint8(at, c.stream);
    let len = 0;
    for (const p of pieces(c.data)) {
      out.set(p, at + CHUNK_HEADER + len);
      len += p.byteLength;
    }
    view.setUint32(at + 1, len);
    at += CHUNK_HEADER + len;
  }
  return out;
}

/** Returns null for anything that is not a well-formed batch. */
export function decodeBatch(buf: ArrayBuffer | Uint8Array): Batch | null {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (bytes.byteLength < HEADER) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== 1) return null;
  const attempt = view.getUint32(1);
  const first = view.getUint32(5);
  const count = view.getUint16(9);
  const chunks: Chunk[] = [];
  let at = HEADER;
  for (let i = 0; i < count; i++) {
    if (at + CHUNK_HEADER > bytes.byteLength) return null;
    const stream = view.getUint8(at);
    const len = view.getUint32(at + 1);
    if ((stream !== STDOUT && stream !== STDERR) || at + CHUNK_HEADER + len > bytes.byteLength) return null;
    chunks.push({ seq: first + i, stream, data: bytes.subarray(at + CHUNK_HEADER, at + CHUNK_HEADER + len) });
    at += CHUNK_HEADER + len;
  }
  return at === bytes.byteLength ? { attempt, chunks } : null;
}
