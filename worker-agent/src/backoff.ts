/** Exponential backoff with full jitter, so a fleet of hosts never reconnects in step. */
export class Backoff {
  private n = 0;
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  next(): number {
    const cap = Math.min(this.maxMs, this.baseMs * 2 ** this.n);
    this.n = Math.min(this.n + 1, 30);
    return Math.round(Math.random() * cap);
  }

  reset(): void {
    this.n = 0;
  }
}
