/**
 * Colour for people, never for pipes: only when stdout is a terminal and NO_COLOR is unset
 * (https://no-color.org), so `tether ls | grep` and scripts see plain text. FORCE_COLOR (set, and
 * not 0 or false) colours a pipe too, for a pager such as `less -R`; NO_COLOR still wins.
 */
const forced = (): boolean => {
  const f = process.env.FORCE_COLOR;
  return f !== undefined && f !== "0" && f.toLowerCase() !== "false";
};
export const useColour = (): boolean => !process.env.NO_COLOR && (forced() || (Boolean(process.stdout.isTTY) && process.env.TERM !== "dumb"));

const CODES: Record<string, string> = { green: "32", red: "31", yellow: "33", blue: "34", dim: "2", bold: "1" };

export function paint(colour: keyof typeof CODES | string, text: string): string {
  const code = CODES[colour];
  return code && useColour() ? `\x1b[${code}m${text}\x1b[0m` : text;
}

const STATUS_COLOUR: Record<string, string> = {
  succeeded: "green", failed: "red", timed_out: "red", orphaned: "red", cancelled: "yellow",
  running: "blue", queued: "dim", awaiting_approval: "yellow",
};

/** A run status, coloured by outcome; `width` pads it first so table columns stay aligned. */
export const statusText = (status: string, width = 0): string => paint(STATUS_COLOUR[status] ?? "", status.padEnd(width));
