/**
 * The masking key of the frames this host sends, on its control socket and its output streams.
 * A WebSocket client masks each frame with a random key so that an intermediary reading plain
 * HTTP cannot be led to take bytes a sender chose (a hostile job's output) for a request or a
 * response of its own. Over TLS no intermediary reads the frames, and on loopback there is none:
 * there the key is zeros, which leaves the bytes as they are, and ws sends a frame as given
 * instead of masking it into a copy (a megabyte per batch of output: stored output 108–127 →
 * 157–169 MB/s here).
 */
import { isIP } from "node:net";

const zeros = (mask: Buffer) => void mask.fill(0);

export function frameMask(url: string): { generateMask?: (mask: Buffer) => void } {
  const u = new URL(url);
  return u.protocol === "wss:" || loopback(u.hostname) ? { generateMask: zeros } : {};
}

function loopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}
