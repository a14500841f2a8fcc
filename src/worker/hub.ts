// Everything between transformers.js and the network or the disk: hub settings, a connect timeout, download
// progress, the memory estimate before a load, and load errors turned into messages that say what to do.
import { existsSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { isAbsolute, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { LogLevel, env } from '@huggingface/transformers';
import type { DownloadProgress } from '../protocol/messages';
import { formatBytes } from '../protocol/format';
import { EngineError } from '../protocol/rpc';
import { checkModelFolder, jsonErrorWithoutContent } from './model-files';

/** Where models come from and go to. */
export interface HubOptions {
  allowRemote?: boolean;
  remoteHost?: string;
  cacheDir?: string;
}

/** Seconds to wait for a server's first answer before calling the hub unreachable. */
const CONNECT_TIMEOUT_MS = 30_000;

/** fetch with a deadline for the response headers only: a stalled connection fails, a long download does not. */
function fetchWithConnectTimeout(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`no answer from ${String(input)} within ${CONNECT_TIMEOUT_MS / 1000} s`)),
    CONNECT_TIMEOUT_MS,
  );
  return fetch(input, { ...init, signal: controller.signal }).finally(() => clearTimeout(timer));
}

/** transformers.js' progress_callback, throttled and reduced to what the host shows. */
export function progressCallback(
  onProgress: ((p: DownloadProgress) => void) | undefined,
): ((data: unknown) => void) | undefined {
  if (!onProgress) return undefined;
  const last = new Map<string, number>();
  return (data: unknown) => {
    const d = data as { status?: string; file?: string; loaded?: number; total?: number };
    if (d.status !== 'progress' || typeof d.file !== 'string' || typeof d.loaded !== 'number') return;
    const now = Date.now();
    const done = typeof d.total === 'number' && d.total > 0 && d.loaded >= d.total;
    if (!done && now - (last.get(d.file) ?? 0) < 100) return;
    last.set(d.file, now);
    onProgress({ file: d.file, loaded: d.loaded, total: typeof d.total === 'number' ? d.total : 0 });
  };
}

/**
 * Memory to load a model whose ONNX file and external data total `fileBytes`: onnxruntime's copy of the weights
 * plus half again for working memory. Surgery reads only the graph's structure and refers to the weights in the
 * file, so it adds nothing large (measured: bert-base fp32, 436 MB, peaks at 852 MB with every map at N = 512).
 */
export function loadEstimate(fileBytes: number): number {
  return fileBytes * 1.5;
}

/** Throws over-budget before a load that would not fit, with the estimate, instead of running out of memory. */
export function checkLoadFits(id: string, fileBytes: number, limit = totalmem() * 0.8): void {
  const need = loadEstimate(fileBytes);
  if (need > limit) {
    throw new EngineError(
      'over-budget',
      `${id} is too big to load here: its weights (ONNX file and external data) are ${formatBytes(fileBytes)} and loading needs about ${formatBytes(need)}, ` +
        `more than the ${formatBytes(limit)} available. Use a smaller dtype (q4f16, q4 or q8, if the model ships one; auto picks one that fits) or a smaller model.`,
    );
  }
}

/** For a local folder, throws naming the JSON file that does not parse (transformers.js' own message does not say which). */
export function checkLocalJson(id: string): void {
  if (!isAbsolute(id) || !existsSync(id)) return;
  // Only files that passed checkModelFolder (regular, inside the folder, size-capped) are re-read here.
  checkModelFolder(id);
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    const file = join(id, name);
    if (!existsSync(file)) continue;
    try {
      JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new EngineError(
        'bad-model',
        `${name} in ${id} is ${jsonErrorWithoutContent(error)}. Re-download or re-export the model.`,
      );
    }
  }
}

/** Applies the hub settings to transformers.js' global env (one model at a time lives in a worker). */
export function configureHub(opts: HubOptions): void {
  env.logLevel = LogLevel.ERROR;
  ort.env.logLevel = 'error';
  env.allowRemoteModels = opts.allowRemote ?? true;
  env.allowLocalModels = true;
  if (opts.remoteHost) env.remoteHost = opts.remoteHost.endsWith('/') ? opts.remoteHost : `${opts.remoteHost}/`;
  if (opts.cacheDir) env.cacheDir = opts.cacheDir;
  (env as unknown as { fetch: typeof fetch }).fetch = fetchWithConnectTimeout as typeof fetch;
}

/** Translates transformers.js' load errors into messages that say what to do. */
export function explainLoadError(model: string, error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const detail = `${message} ${cause?.code ?? ''} ${cause?.message ?? ''}`;
  if (isAbsolute(model) && existsSync(model) && /not found|Could not locate|local_files_only/i.test(message)) {
    const missing = /"([^"]+)"/.exec(message)?.[1]?.split(/[\\/]/).pop() ?? 'a file it needs';
    return new EngineError(
      'bad-model',
      `The model folder ${model} has no ${missing}: a folder needs config.json, tokenizer.json and onnx/model*.onnx.`,
    );
  }
  if (/local_files_only|allowRemoteModels=false/.test(message)) {
    return new EngineError(
      'model-not-found',
      `Model "${model}" is not in the cache and downloads are off. Allow downloads, or use a local folder.`,
    );
  }
  if (/terminated|ECONNRESET|UND_ERR_SOCKET|other side closed/i.test(detail)) {
    return new EngineError(
      'offline',
      `The download of "${model}" was interrupted (${cause?.code ?? message}); nothing partial was kept. Retry.`,
    );
  }
  if (/fetch failed|ENOTFOUND|ECONNREFUSED|EAI_AGAIN|ETIMEDOUT|no answer from|network/i.test(detail)) {
    return new EngineError(
      'offline',
      `Could not download "${model}": the Hugging Face hub (or the configured host) cannot be reached (${cause?.code ?? message}).`,
    );
  }
  // A whole-word 404: the test server's random port (e.g. 40445) must not read as a status.
  if (/not found|\b404\b|Could not locate|ENOENT/i.test(message)) {
    return new EngineError('model-not-found', `Model "${model}" was not found: ${message}`);
  }
  if (/Unexpected token|not valid JSON|in JSON at position|Expected .* JSON/i.test(message)) {
    return new EngineError('bad-model', `${model}: a JSON file of the model is ${jsonErrorWithoutContent(error)}.`);
  }
  if (/EISDIR/.test(detail))
    return new EngineError('bad-model', `${model}: a file the model needs is a folder (${fileNameIn(message)}).`);
  if (/external data|onnx_data/i.test(message)) {
    return new EngineError(
      'bad-model',
      `${model}: the model's external weight file (${fileNameIn(message)}) is missing or unreadable. ` +
        'Its config.json says the weights are in a separate .onnx_data file; download or copy that file next to the .onnx file.',
    );
  }
  return new EngineError('bad-model', `${model}: ${message}`);
}

/** The last path-like word of an error message, without its folders (error messages must not leak paths' contents). */
function fileNameIn(message: string): string {
  const m = /([\w.-]+\.(?:onnx_data(?:_\d+)?|onnx|json))/.exec(message);
  return m ? m[1] : 'a model file';
}
