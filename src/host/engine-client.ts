// The host's handle on the engine worker: started on first use, restarted after a crash, terminated on dispose.
// Free of 'vscode' so tests can drive a real worker thread from plain Node.
import { Worker } from 'node:worker_threads';
import type { DownloadProgress, EngineApi, ReplyMessage } from '../protocol/messages';
import { EngineError, RpcClient } from '../protocol/rpc';

/** Per-method timeouts: loads can download hundreds of MB, slices are quick. */
const TIMEOUTS: Partial<Record<keyof EngineApi, number>> = {
  analyze: 30 * 60_000,
  countTokens: 10 * 60_000,
  slice: 60_000,
  thumbnails: 60_000,
  rows: 30_000,
  rankHeads: 30_000,
  release: 10_000,
};

type Params<K extends keyof EngineApi> = Parameters<EngineApi[K]>[0];

/** A lazily started engine worker with typed calls. */
export class EngineClient {
  private worker: Worker | undefined;
  private rpc: RpcClient<EngineApi> | undefined;
  private disposed = false;

  /** `onCrash` hears about a worker that died (it restarts on the next call). */
  constructor(private readonly workerPath: string, private readonly onCrash: (message: string) => void = () => undefined) {}

  /** Calls an engine method in the worker; `onProgress` hears model downloads. */
  call<K extends keyof EngineApi>(method: K, params: Params<K>, onProgress?: (p: DownloadProgress) => void): Promise<ReturnType<EngineApi[K]>> {
    if (this.disposed) return Promise.reject(new EngineError('cancelled', 'the engine was shut down'));
    return this.start().call(method, params as never, TIMEOUTS[method] ?? 60_000, onProgress) as Promise<ReturnType<EngineApi[K]>>;
  }

  /** True while a worker thread exists. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Kills the worker (pending calls fail with `cancelled`); the next call starts a fresh one. */
  async restart(reason = 'restarted'): Promise<void> {
    const w = this.worker;
    this.detach(new EngineError('cancelled', reason));
    if (w) await w.terminate();
  }

  /** Terminates the worker for good. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.restart('the engine was shut down');
  }

  private start(): RpcClient<EngineApi> {
    if (this.worker && this.rpc) return this.rpc;
    const worker = new Worker(this.workerPath);
    const rpc = new RpcClient<EngineApi>((m) => worker.postMessage(m));
    worker.on('message', (reply: ReplyMessage) => rpc.receive(reply));
    worker.on('error', (error) => {
      if (this.worker !== worker) return;
      this.detach(new EngineError('worker-died', `the attention engine crashed: ${error.message}`));
      this.onCrash(error.message);
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.detach(new EngineError('worker-died', `the attention engine stopped (exit code ${code})`));
      this.onCrash(`exit code ${code}`);
    });
    // The worker must not keep the extension host (or a test run) alive on its own.
    worker.unref();
    this.worker = worker;
    this.rpc = rpc;
    return rpc;
  }

  private detach(error: EngineError): void {
    const rpc = this.rpc;
    this.worker = undefined;
    this.rpc = undefined;
    rpc?.failAll(error);
  }
}
