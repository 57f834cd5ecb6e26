/** The bytes the output workloads send: random (incompressible, every byte matters), in a file, with their hash. */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface Payload {
  file: string;
  bytes: number;
  sha256: string;
}

export function makePayload(dir: string, bytes: number): Payload {
  const file = join(dir, "payload.bin");
  const hash = createHash("sha256");
  const fd = openSync(file, "w");
  try {
    const block = 1 << 20;
    for (let done = 0; done < bytes; done += block) {
      const b = randomBytes(Math.min(block, bytes - done));
      hash.update(b);
      writeSync(fd, b);
    }
  } finally {
    closeSync(fd);
  }
  return { file, bytes, sha256: hash.digest("hex") };
}

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
