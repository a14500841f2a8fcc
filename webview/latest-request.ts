// At most one request of a kind in flight; while it runs only the newest wish waits, older ones are dropped.
// This is how a fast mouse cancels stale requests: they are never sent.
import type { EngineError } from '../src/protocol/rpc';

/** A requester that keeps one call in flight and one pending (the latest); only the newest wish is delivered. */
export class LatestRequest<P, R> {
  private busy = false;
  private pending: P | undefined;
  /** Bumped by reset(): answers to calls made before it are dropped. */
  private generation = 0;

  constructor(
    private readonly call: (params: P) => Promise<R>,
    private readonly onResult: (result: R) => void,
    private readonly onError: (error: EngineError) => void,
  ) {}

  /** Asks for `params`; sent now if nothing is in flight, otherwise replaces the pending wish. */
  request(params: P): void {
    if (this.busy) {
      this.pending = params;
      return;
    }
    void this.run(params);
  }

  /** Forgets everything (a new analysis): what is in flight is dropped when it answers. */
  reset(): void {
    this.generation++;
    this.busy = false;
    this.pending = undefined;
  }

  private async run(params: P): Promise<void> {
    this.busy = true;
    const generation = this.generation;
    let deliver: () => void;
    try {
      const result = await this.call(params);
      deliver = () => this.onResult(result);
    } catch (error) {
      deliver = () => this.onError(error as EngineError);
    }
    if (generation !== this.generation) return;
    this.busy = false;
    const next = this.pending;
    this.pending = undefined;
    // A newer wish came in meanwhile: this answer is stale, ask for that one instead.
    if (next !== undefined) void this.run(next);
    else deliver();
  }
}
