/** Bounds every input is checked against; one place so the edge, host and docs agree. */
export const LIMITS = {
  bodyBytes: 2 * 1024 * 1024,
  argvItems: 4096,
  argBytes: 128 * 1024,
  stdinBytes: 1024 * 1024,
  envEntries: 256,
  envValueBytes: 32 * 1024,
  labelEntries: 64,
  labelValueBytes: 256,
  inputEntries: 64,
  /** One live input delivery, and what may wait undelivered for one run. */
  liveInputBytes: 1024 * 1024,
  liveInputWaitingBytes: 8 * 1024 * 1024,
  /** Run events a host may report from what a runner printed, per run. */
  hostEventsPerRun: 10_000,
  /** How deep runs submitted from inside jobs may nest, and how many children one run may have. */
  childDepth: 5,
  childrenPerRun: 100,
  /** Submits one batch may carry: one turn of the agent's object decides them all, and holds its hosts' messages meanwhile. */
  runsPerBatch: 100,
  /** A run's inputs together, as JSON: those past 256 KiB reach the job as files. */
  inputBytes: 1024 * 1024,
  timeoutMsMax: 7 * 24 * 3600 * 1000,
  timeoutMsDefault: 3600 * 1000,
  slotsMax: 256,
  /** Largest batch frame a host may send; a SQLite row must stay well under 2 MB. */
  batchBytes: 1024 * 1024,
  /** Output an attempt that ended before it opened its output stream may send with its end, on the control socket. */
  controlOutputBytes: 8 * 1024,
  /** Chunks one batch frame may hold: a host has no reason to send more, and each is a row. */
  batchChunks: 1024,
  /** Messages one host socket may send in a second; a host batches, so it never needs near this many. */
  socketMessagesPerS: 2000,
  /** Messages an output stream may carry in a second: one batch waits for its ack, so a host sends one per round trip. */
  streamMessagesPerS: 10_000,
  /** The default and the largest `max_output_bytes`: a run's stored output. */
  maxOutputBytes: 1024 * 1024 * 1024,
  /** Live watchers of one run. */
  watchersPerRun: 100,
  /** Clients waiting for one run to end (GET /v1/runs/:run/wait), and for any run of one agent. */
  waitersPerRun: 100,
  waitersPerAgent: 10_000,
  /** How long a wait is held before it answers the run as it is; the default when none is asked. */
  waitMaxS: 60,
  waitDefaultS: 30,
} as const;
