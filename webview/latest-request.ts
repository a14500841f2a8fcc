// At most one request of a kind in flight; while it runs only the newest wish waits, older ones are dropped.
// This is how a fast mouse cancels stale requests: they are never sent.

/** A requester that keeps one request in flight and one pending (the latest). */
export class LatestRequest<P> {
  private inFlight: number | undefined;
  private pending: P | undefined;
  private seq = 0;
  private latestId = 0;

  constructor(private readonly send: (requestId: number, params: P) => void) {}

  /** Asks for `params`; sent now if nothing is in flight, otherwise replaces the pending wish. */
  request(params: P): void {
    if (this.inFlight !== undefined) {
      this.pending = params;
      return;
    }
    this.dispatch(params);
  }

  /** Call with each reply's id; returns true when the reply answers the newest wish (draw it), false when stale. */
  settle(requestId: number): boolean {
    if (requestId === this.inFlight) this.inFlight = undefined;
    const next = this.pending;
    this.pending = undefined;
    if (next !== undefined) {
      this.dispatch(next);
      return false;
    }
    return requestId === this.latestId;
  }

  /** Forgets everything (a new analysis). */
  reset(): void {
    this.inFlight = undefined;
    this.pending = undefined;
    this.latestId = 0;
  }

  private dispatch(params: P): void {
    this.inFlight = ++this.seq;
    this.latestId = this.inFlight;
    this.send(this.inFlight, params);
  }
}
