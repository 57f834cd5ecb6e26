/**
 * Replaces secrets in a byte stream with [REDACTED] before the bytes leave the host. A secret
 * may arrive split across writes, so a chunk's last bytes are held back while they are the
 * beginning of a secret (at most the longest secret - 1), until the next chunk or the end;
 * anything else goes out at once, so a job's prompt is not delayed. Everything that is not a
 * secret passes byte for byte: output is binary.
 */
const MARK = Buffer.from("[REDACTED]");
/** Shorter values are too likely to be ordinary text (and would redact half the output). */
export const MIN_SECRET = 6;

export class Redactor {
  private readonly secrets: Buffer[];
  private tail: Buffer = Buffer.alloc(0);

  constructor(secrets: Iterable<string>) {
    const unique = new Set([...secrets].filter((s) => Buffer.byteLength(s) >= MIN_SECRET));
    // Longest first: where two secrets start at the same byte, the longer one is the match.
    this.secrets = [...unique].map((s) => Buffer.from(s)).sort((a, b) => b.length - a.length);
  }

  get active(): boolean {
    return this.secrets.length > 0;
  }

  /** The bytes of `chunk` (and of earlier held bytes) that are safe to send now. */
  push(chunk: Buffer): Buffer {
    if (!this.active) return chunk;
    const data = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const out: Buffer[] = [];
    let pos = 0;
    for (;;) {
      let at = -1;
      let len = 0;
      for (const s of this.secrets) {
        const i = data.indexOf(s, pos);
        if (i !== -1 && (at === -1 || i < at)) {
          at = i;
          len = s.length;
        }
      }
      if (at === -1) break;
      out.push(data.subarray(pos, at), MARK);
      pos = at + len;
    }
    // No secret is whole in data[pos..]; one may still be completed by the next chunk.
    const keep = this.partialAtEnd(data, pos);
    out.push(data.subarray(pos, data.length - keep));
    this.tail = Buffer.from(data.subarray(data.length - keep));
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** How many of the last bytes of data[from..] begin some secret. */
  private partialAtEnd(data: Buffer, from: number): number {
    let best = 0;
    for (const s of this.secrets) {
      for (let k = Math.min(s.length - 1, data.length - from); k > best; k--) {
        if (data[data.length - k] === s[0] && data.subarray(data.length - k).equals(s.subarray(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }

  /** The held bytes, at the end of the stream: no secret can complete any more. */
  end(): Buffer {
    const rest = this.tail;
    this.tail = Buffer.alloc(0);
    return rest;
  }
}
