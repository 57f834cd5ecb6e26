/**
 * The port of the control plane's stable address. The README's curl examples say 8787, so when
 * something else holds it people must be told, not find out from a connection refused.
 */
import { createServer } from "node:net";

export const DEFAULT_PORT = 8787;

export interface PortChoice {
  /** The port to ask for; 0 for any free one. */
  port: number;
  /** Says why the port is not the one asked for, to print once the real one is known. */
  fallbackFrom?: number;
}

export async function choosePort(env: string | undefined): Promise<PortChoice> {
  if (env !== undefined && env !== "") {
    const port = Number(env);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT=${env} is not a port number (0 to 65535; 0 for any free port)`);
    // A port chosen on purpose is not silently replaced: the person relies on it.
    if (port !== 0 && !(await isFree(port))) throw new Error(`PORT=${port} is in use by another program; choose another, or PORT=0 for any free one`);
    return { port };
  }
  return (await isFree(DEFAULT_PORT)) ? { port: DEFAULT_PORT } : { port: 0, fallbackFrom: DEFAULT_PORT };
}

export function fallbackNote(choice: PortChoice, url: string): string | undefined {
  if (choice.fallbackFrom === undefined) return undefined;
  const port = new URL(url).port;
  return `port ${choice.fallbackFrom} is in use by another program (or a Tether started in another directory), so the control plane listens on port ${port} instead: ${url}. Set PORT to choose the port.`;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}
