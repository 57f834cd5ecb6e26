interface WithToBase64 {
  toBase64?: () => string;
}

/** Native Uint8Array#toBase64 where the runtime has it (workerd does); a chunked btoa otherwise. */
export function toBase64(bytes: Uint8Array): string {
  const native = (bytes as Uint8Array & WithToBase64).toBase64;
  if (native) return native.call(bytes);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The bytes of a base64 text, or null when it is not base64 (wrong alphabet, length or padding). */
export function fromBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  // Node's decoder is many times faster than atob for the megabytes a watcher reads.
  const B = (globalThis as { Buffer?: { from(t: string, e: "base64"): Uint8Array } }).Buffer;
  if (B) return B.from(text, "base64");
  try {
    return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}
