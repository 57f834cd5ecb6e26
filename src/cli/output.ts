/** Writes job output to our own stdout/stderr, waiting when the terminal reads slower than the job writes. */
export function writeTo(stream: "stdout" | "stderr", data: Uint8Array): Promise<void> | void {
  const out = stream === "stdout" ? process.stdout : process.stderr;
  if (!out.write(data)) return new Promise((resolve) => out.once("drain", () => resolve()));
}
