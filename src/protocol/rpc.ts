// Request/reply over any message channel: ids, errors as data, timeouts, and failing everything on dispose.
import type { EngineErrorCode, EngineEvent, ErrorData, ReplyMessage, RequestMessage } from './messages';

/** An error that carries an engine error code; what crosses a thread is its `toData()`. */
export class EngineError extends Error {
  /** `details`: diagnostics for the log (a graph's inputs, outputs, op counts), not for the notification. */
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }

  /** The error as plain data. */
  toData(): ErrorData {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }

  /** Turns anything thrown into error data; unknown errors become `internal`. */
  static toData(error: unknown): ErrorData {
    if (error instanceof EngineError) return error.toData();
    const message = error instanceof Error ? error.message : String(error);
    return { code: 'internal', message };
  }
}

type Params<Api, K extends keyof Api> = Api[K] extends (p: infer P) => unknown ? P : never;
type Result<Api, K extends keyof Api> = Api[K] extends (...a: never[]) => infer R ? R : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: EngineError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Restarts the timeout: a call that reports progress is alive. */
  rearm(): void;
  onEvent?: (event: EngineEvent) => void;
}

/** The calling side: `call()` returns a promise settled by `receive()` or rejected on timeout/dispose. */
export class RpcClient<Api> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly post: (message: RequestMessage<Api>) => void) {}

  /**
   * Calls a method; rejects with an EngineError on error reply, timeout or dispose. `onEvent` hears progress.
   * The timeout counts from the call or from its latest event, so a long download with progress does not time out.
   */
  call<K extends keyof Api>(
    method: K,
    params: Params<Api, K>,
    timeoutMs = 0,
    onEvent?: (event: EngineEvent) => void,
  ): Promise<Result<Api, K>> {
    const id = this.nextId++;
    return new Promise<Result<Api, K>>((resolve, reject) => {
      const expire = () =>
        this.settle(id, new EngineError('timeout', `${String(method)} did not answer within ${timeoutMs} ms`));
      const entry: Pending = {
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: timeoutMs > 0 ? setTimeout(expire, timeoutMs) : undefined,
        rearm: () => {
          if (!entry.timer) return;
          clearTimeout(entry.timer);
          entry.timer = setTimeout(expire, timeoutMs);
        },
        onEvent,
      };
      this.pending.set(id, entry);
      try {
        this.post({ kind: 'request', id, method, params } as unknown as RequestMessage<Api>);
      } catch (error) {
        this.settle(
          id,
          new EngineError('internal', `could not send ${String(method)}: ${EngineError.toData(error).message}`),
        );
      }
    });
  }

  /** Feeds a reply from the other side. */
  receive(reply: ReplyMessage): void {
    if (reply.kind === 'event') {
      const p = this.pending.get(reply.id);
      p?.rearm();
      p?.onEvent?.(reply.event);
      return;
    }
    if (reply.ok) this.settle(reply.id, undefined, reply.result);
    else this.settle(reply.id, new EngineError(reply.error.code, reply.error.message, reply.error.details));
  }

  /** Number of calls still waiting. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Rejects every pending call with the given error. */
  failAll(error: EngineError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, error);
  }

  private settle(id: number, error: EngineError | undefined, result?: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(result);
  }
}

/** A handler's answer: the result plus the ArrayBuffers to transfer rather than copy. */
export interface Served {
  result: unknown;
  transfer: ArrayBuffer[];
}

/** The serving side: runs one request against an implementation and always produces a reply; `emit` sends events meanwhile. */
export async function serve<Api>(
  impl: {
    [K in keyof Api]: (
      params: Params<Api, K>,
      emit?: (event: EngineEvent) => void,
    ) => Promise<Result<Api, K>> | Result<Api, K>;
  },
  request: RequestMessage<Api>,
  emit?: (message: ReplyMessage) => void,
): Promise<{ reply: ReplyMessage; transfer: ArrayBuffer[] }> {
  try {
    const fn = impl[request.method];
    if (typeof fn !== 'function') throw new EngineError('bad-input', `unknown method ${String(request.method)}`);
    const onEvent = emit ? (event: EngineEvent) => emit({ kind: 'event', id: request.id, event }) : undefined;
    const result = await (fn as (p: unknown, e?: unknown) => unknown).call(impl, request.params, onEvent);
    return { reply: { kind: 'reply', id: request.id, ok: true, result }, transfer: collectBuffers(result) };
  } catch (error) {
    return { reply: { kind: 'reply', id: request.id, ok: false, error: EngineError.toData(error) }, transfer: [] };
  }
}

/** `buffer` fields of a result (at the top level or one object down) are transferred, not copied. */
function collectBuffers(result: unknown): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const visit = (v: unknown, depth: number) => {
    if (!v || typeof v !== 'object') return;
    if (v instanceof ArrayBuffer) {
      out.push(v);
      return;
    }
    if (depth > 2) return;
    for (const x of Object.values(v))
      if (x instanceof ArrayBuffer || (x && typeof x === 'object' && !Array.isArray(x))) visit(x, depth + 1);
  };
  visit(result, 0);
  return out;
}
