/** What the bench and its BullMQ worker agree on. */
export interface JobData {
  argv: string[];
}

export interface JobResult {
  exit_code: number | null;
  signal: string | null;
}

/** The Relay topic a worker listens on for cancel requests (BullMQ's documented pattern). */
export const cancelTopic = (queue: string) => `jobs.${queue}.cancel`;

/** Each log row is one chunk: "o:" (stdout) or "e:" (stderr), then the bytes in base64. */
export const STDOUT_TAG = "o:";
export const STDERR_TAG = "e:";
