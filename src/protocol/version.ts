/**
 * The host protocol's version, in one place. A host says which it speaks in hello; the edge
 * accepts the range below and refuses others with a close reason that says what to upgrade.
 * Each side ignores message fields it does not know, so adding an optional field needs no bump;
 * a bump is for a change an older peer would misread.
 */
export const PROTOCOL = 3;
export const PROTOCOL_MIN = 2;
export const PROTOCOL_MAX = 3;
/** The first version in which a host may end an attempt on its control socket (`finished`). */
export const PROTOCOL_FINISHED = 3;

/** Close code for a version outside the range: the host exits with the reason instead of reconnecting. */
export const CLOSE_PROTOCOL = 4010;
/** Close code for a credential the edge no longer accepts (revoked host, rotated token, deleted agent). */
export const CLOSE_REVOKED = 4001;
/** Close code for a host that broke the protocol's limits (frame, batch or message rate). */
export const CLOSE_LIMIT = 4013;

export function protocolProblem(version: number | undefined): string | null {
  const v = version ?? 1;
  if (v >= PROTOCOL_MIN && v <= PROTOCOL_MAX) return null;
  const range = (PROTOCOL_MIN as number) === PROTOCOL_MAX ? `${PROTOCOL_MIN}` : `${PROTOCOL_MIN}-${PROTOCOL_MAX}`;
  const what = v < PROTOCOL_MIN ? "upgrade tether-agent" : "upgrade the control plane, or run an older tether-agent";
  return `host protocol ${v} is not supported; this control plane speaks ${range}: ${what}`;
}
