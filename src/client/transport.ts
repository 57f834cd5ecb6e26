/**
 * What the client needs of a transport: a fetch that answers with these few parts. The global
 * fetch is one; `nodeFetch` (node-fetch.ts) is a cheaper one for Node.
 */
export interface Answer {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export type Fetch = (url: string, init?: FetchInit) => Promise<Answer>;
