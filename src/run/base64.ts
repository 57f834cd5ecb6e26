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
