// The host's handle on the engine: started on first use, killed and restarted after a crash, a timeout or a
// cancelled load, watched for runaway memory, and stopped on dispose. Free of 'vscode' so tests drive it from Node.
import { totalmem } from 'node:os';
import { formatBytes } from '../protocol/format';
import type { EngineApi, EngineEvent } from '../protocol/messages';
import { EngineError, RpcClient } from '../protocol/rpc';
import { type EngineMode, type EngineTransport, engineModeFromEnv, startEngine } from './engine-transport';

/**
 * Per-method timeouts. Calls that can download restart their clock on every progress event, so a long download
 * is fine and a hang (a tokenizer regex that backtracks for minutes) is not. A timeout kills the engine.
 */
const TIMEOUTS: Partial<Record<keyof EngineApi, number>> = {
  analyze: 10 * 60_000,
  // Each generated token is a progress event, so this is the longest a single step (or the model's load) may take.
  generate: 10 * 60_000,
  stopGenerating: 10_000,
  seq2seq: 10 * 60_000,
  countTokens: 60_000,
  // After a first view these may carry the rest of the model's pass (engine.ts shortStore): as long as an analysis.
  slice: 10 * 60_000,
  thumbnails: 10 * 60_000,
  rows: 10 * 60_000,
  rankHeads: 10 * 60_000,
  compareHeads: 10 * 60_000,
  exportJson: 10 * 60_000,
  release: 10_000,
};

/** How often the engine's memory is checked while a call runs. */
const MEMORY_CHECK_MS = 250;

type Params<K extends keyof EngineApi> = Parameters<EngineApi[K]>[0];

/** Options of an engine client; every field has a default. */
export interface EngineClientOptions {
  /** Hears about an engine that died on its own (it restarts on the next call). */
  onCrash?: (message: string) => void;
  /** Where the engine runs (default: a child process, or `ATTENTION_LENS_ENGINE`). */
  mode?: EngineMode;
  /** Overrides of the per-method timeouts, in ms (tests shorten them). */
  timeouts?: Partial<Record<keyof EngineApi, number>>;
  /** Resident memory at which the engine is stopped, in bytes (default 80% of this machine's memory). */
  memoryLimitBytes?: number;
  /** Hears the engine's stderr lines (native messages). */
  onStderr?: (line: string) => void;
}

/** A lazily started engine with typed calls. */
export class EngineClient {
  private transport: EngineTransport | undefined;
  private rpc: RpcClient<EngineApi> | undefined;
  private disposed = false;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  /** The model key of the last successful analysis in the running engine: its model is loaded. */
  private warmKey: string | undefined;

  constructor(
    private readonly entry: string,
    private readonly options: EngineClientOptions = {},
  ) {}

  /** Where the engine runs. */
  get mode(): EngineMode {
    return this.options.mode ?? engineModeFromEnv();
  }

  /** Calls an engine method; `onProgress` hears model downloads. */
  call<K extends keyof EngineApi>(
    method: K,
    params: Params<K>,
    onProgress?: (p: EngineEvent) => void,
  ): Promise<ReturnType<EngineApi[K]>> {
    if (this.disposed) return Promise.reject(new EngineError('cancelled', 'the engine was shut down'));
    const rpc = this.start();
    const timeout = this.options.timeouts?.[method] ?? TIMEOUTS[method] ?? 60_000;
    // Calls that load a model leave it warm (a cancel then stops the run's steps instead of the engine).
    const loads = method === 'analyze' || method === 'generate' || method === 'seq2seq';
    const key = loads ? modelKey(params as Params<'analyze'>) : undefined;
    this.busy(true);
    const p = rpc.call(method, params as never, timeout, onProgress) as Promise<ReturnType<EngineApi[K]>>;
    p.then(
      () => {
        if (key !== undefined && this.rpc === rpc) this.warmKey = key;
      },
      (error: EngineError) => {
        // A call that timed out left the engine in an unknown state (a hang, a runaway loop): start afresh.
        if (error.code === 'timeout' && this.rpc === rpc) void this.restart(`${String(method)} timed out`, 'timeout');
      },
    ).finally(() => {
      if (this.rpc === rpc && rpc.inFlight === 0) this.busy(false);
    });
    return p;
  }

  /** True while an engine exists. */
  get running(): boolean {
    return this.transport !== undefined;
  }

  /** The engine's process id (process mode), for the temporary files it writes. */
  get pid(): number | undefined {
    return this.transport?.pid;
  }

  /** True when an analysis with these settings would find its model already loaded. */
  isWarm(params: Params<'analyze'>): boolean {
    return this.transport !== undefined && this.warmKey === modelKey(params);
  }

  /** Kills the engine (pending calls fail with `code`); the next call starts a fresh one. */
  async restart(reason = 'restarted', code: 'cancelled' | 'timeout' | 'over-budget' = 'cancelled'): Promise<void> {
    const t = this.transport;
    if (!t) return;
    // Detach first, so the exit that follows is not reported as a crash.
    this.detach(new EngineError(code, code === 'cancelled' ? reason : `${reason}; the attention engine was restarted`));
    t.kill();
  }

  /** Stops the engine for good. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.restart('the engine was shut down');
  }

  private start(): RpcClient<EngineApi> {
    if (this.transport && this.rpc) return this.rpc;
    const rpc = new RpcClient<EngineApi>((m) => transport.post(m));
    const transport: EngineTransport = startEngine(this.entry, this.mode, {
      onMessage: (reply) => rpc.receive(reply),
      onExit: (reason) => {
        if (this.transport !== transport) return;
        this.detach(
          new EngineError('worker-died', `the attention engine stopped (${reason}); it restarts on the next request`),
        );
        this.options.onCrash?.(reason);
      },
      onStderr: this.options.onStderr,
    });
    this.transport = transport;
    this.rpc = rpc;
    this.warmKey = undefined;
    return rpc;
  }

  private busy(on: boolean): void {
    this.transport?.setBusy(on);
    if (on && !this.watchdog) {
      const limit = this.options.memoryLimitBytes ?? totalmem() * 0.8;
      this.watchdog = setInterval(() => {
        const rss = this.transport?.rssBytes();
        if (rss !== undefined && rss > limit) {
          void this.restart(
            `the attention engine used ${formatBytes(rss)} of memory, over the ${formatBytes(limit)} limit, and was stopped (model or text too big for this machine)`,
            'over-budget',
          );
        }
      }, MEMORY_CHECK_MS);
      this.watchdog.unref();
    }
    if (!on && this.watchdog) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
  }

  private detach(error: EngineError): void {
    const rpc = this.rpc;
    this.transport = undefined;
    this.rpc = undefined;
    this.warmKey = undefined;
    this.busy(false);
    rpc?.failAll(error);
  }
}

/** What identifies a loaded model in the engine (the same fields the engine keys its model on). */
function modelKey(p: Params<'analyze'>): string {
  return JSON.stringify([p.model, p.dtype, p.remoteHost ?? '', p.cacheDir ?? '', p.allowRemote ?? true]);
}
