// Resolves the `auto` dtype: the most faithful weights file a model actually has that fits this machine, in the
// order fp32 > fp16 > q8 > q4f16 > q4 > bnb4. transformers.js has an `auto` of its own (the model's configured
// dtype, else q8 on CPU), so `auto` is never passed on to it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { env } from '@huggingface/transformers';
import { AUTO_ORDER, type Dtype, DTYPE_SUFFIX, type DtypeChoice, DTYPES } from '../protocol/dtypes';
import { EngineError } from '../protocol/rpc';
import { loadEstimate } from './hub';

/** Bytes of `onnx/model<suffix>.onnx` and its `.onnx_data*` files in a folder, or undefined when it has none. */
export function localDtypeBytes(folder: string, dtype: Dtype): number | undefined {
  const dir = join(folder, 'onnx');
  const name = `model${DTYPE_SUFFIX[dtype]}.onnx`;
  if (!existsSync(join(dir, name))) return undefined;
  let total = 0;
  for (const f of readdirSync(dir))
    if (f === name || f.startsWith(`${name}_data`)) total += statSync(join(dir, f)).size;
  return total;
}

/** Size of a file on the hub from a HEAD request (undefined when it is not there or the hub cannot be reached). */
async function remoteBytes(id: string, file: string): Promise<number | undefined> {
  const host = env.remoteHost.endsWith('/') ? env.remoteHost : `${env.remoteHost}/`;
  const url = `${host}${id}/resolve/main/${file}`;
  try {
    const response = await (env as unknown as { fetch: typeof fetch }).fetch(url, { method: 'HEAD' });
    if (!response.ok) return undefined;
    const length = Number(response.headers.get('content-length') ?? 0);
    return Number.isFinite(length) ? length : 0;
  } catch {
    return undefined;
  }
}

export interface DtypeContext {
  allowRemote?: boolean;
  /** Bytes a model may need to load; default 80 % of this machine's memory. */
  memoryLimit?: number;
  /** Whether config.json says the weights are in `.onnx_data` files (then their size counts too). */
  externalData?: boolean;
  /** `transformers.js_config.dtype` of config.json: the model's own choice, tried first (as transformers.js does). */
  configDtype?: unknown;
}

/**
 * The dtype to load: the one asked for, or for `auto` the model's own (`transformers.js_config.dtype`) and then the
 * first in AUTO_ORDER whose files exist (a local folder,
 * the cache, else the hub by HEAD requests) and fit in memory. When files exist but none fits, the smallest is
 * returned so the load's own check explains the shortfall.
 */
export async function resolveDtype(id: string, choice: DtypeChoice, ctx: DtypeContext = {}): Promise<Dtype> {
  if (choice !== 'auto') return choice;
  const limit = ctx.memoryLimit ?? totalmem() * 0.8;
  const folders = isAbsolute(id) ? [id] : [join(env.localModelPath ?? '', id), join(env.cacheDir ?? '', id)];
  const found: { dtype: Dtype; bytes: number }[] = [];
  const own = typeof ctx.configDtype === 'string' && (DTYPES as readonly string[]).includes(ctx.configDtype);
  const order = own ? [ctx.configDtype as Dtype, ...AUTO_ORDER.filter((d) => d !== ctx.configDtype)] : AUTO_ORDER;
  for (const dtype of order) {
    let bytes: number | undefined;
    for (const folder of folders) {
      bytes = existsSync(folder) ? localDtypeBytes(folder, dtype) : undefined;
      if (bytes !== undefined) break;
    }
    if (bytes === undefined && !isAbsolute(id) && ctx.allowRemote !== false) {
      const file = `onnx/model${DTYPE_SUFFIX[dtype]}.onnx`;
      bytes = await remoteBytes(id, file);
      if (bytes !== undefined && ctx.externalData) bytes += (await remoteBytes(id, `${file}_data`)) ?? 0;
    }
    if (bytes === undefined) continue;
    if (loadEstimate(bytes) <= limit) return dtype;
    found.push({ dtype, bytes });
  }
  if (found.length > 0) return found.sort((a, b) => a.bytes - b.bytes)[0].dtype;
  if (isAbsolute(id) && existsSync(id))
    throw new EngineError(
      'bad-model',
      `The model folder ${id} has no ONNX weights file for any dtype (looked for onnx/model.onnx, model_fp16.onnx, ` +
        'model_quantized.onnx, model_q4f16.onnx, model_q4.onnx, model_bnb4.onnx).',
    );
  // Nothing found anywhere (offline hub id, not cached): fp32, and the load explains what is missing.
  return 'fp32';
}
