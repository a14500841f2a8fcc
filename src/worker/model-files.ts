// What the engine accepts from a model folder before transformers.js or onnxruntime read it: regular files
// inside the folder (after resolving symlinks), of sane sizes, and a config whose numbers are in range. A
// workspace can point the model setting at any folder, so nothing here may follow a link out of it, read a device,
// or size an allocation from an unchecked number.
import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { type Dtype, DTYPE_SUFFIX } from '../protocol/dtypes';
import { formatBytes } from '../protocol/format';
import { EngineError } from '../protocol/rpc';

/** Largest JSON file read from a model folder (the biggest real tokenizer.json files are ~35 MB). */
export const MAX_JSON_BYTES = 64 * 2 ** 20;

/** The JSON files transformers.js reads from a model folder. */
const JSON_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'generation_config.json',
  'special_tokens_map.json',
  'preprocessor_config.json',
];

/** Ranges of the config numbers the engine and the host size things from. */
const CONFIG_RANGES: Record<string, [number, number]> = {
  num_hidden_layers: [1, 1000],
  n_layer: [1, 1000],
  num_layers: [1, 1000],
  num_decoder_layers: [1, 1000],
  num_attention_heads: [1, 1024],
  n_head: [1, 1024],
  num_heads: [1, 1024],
  num_key_value_heads: [1, 1024],
  hidden_size: [1, 1_000_000],
  n_embd: [1, 1_000_000],
  d_model: [1, 1_000_000],
  max_position_embeddings: [1, 100_000_000],
  n_positions: [1, 100_000_000],
  n_ctx: [1, 100_000_000],
  vocab_size: [1, 100_000_000],
};

/** Where a model folder's file really is: a regular file inside the folder, or a typed error. */
function checkFile(folderReal: string, path: string, label: string, maxBytes: number | undefined): void {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new EngineError('bad-model', `${label} in the model folder is a broken link.`);
  }
  const rel = relative(folderReal, real);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new EngineError(
      'bad-model',
      `${label} in the model folder links outside it; only files inside the folder are read.`,
    );
  }
  const st = statSync(real);
  if (st.isDirectory()) throw new EngineError('bad-model', `${label} in the model folder is a folder, not a file.`);
  if (!st.isFile())
    throw new EngineError(
      'bad-model',
      `${label} in the model folder is not a regular file (a device or a pipe); it is not read.`,
    );
  if (maxBytes !== undefined && st.size > maxBytes) {
    throw new EngineError(
      'bad-model',
      `${label} in the model folder is ${formatBytes(st.size)}, over the ${formatBytes(maxBytes)} a model's JSON file may have.`,
    );
  }
}

/** For a local model folder (absolute path): checks every file transformers.js or onnxruntime will read. */
export function checkModelFolder(id: string): void {
  if (!isAbsolute(id) || !existsSync(id)) return;
  const folderReal = realpathSync(id);
  if (!statSync(folderReal).isDirectory())
    throw new EngineError('model-not-found', `The model path ${id} is not a folder.`);
  for (const name of JSON_FILES) {
    const p = join(id, name);
    if (present(p)) checkFile(folderReal, p, name, MAX_JSON_BYTES);
  }
  for (const sub of ['onnx', '.']) {
    const dir = join(id, sub);
    if (!existsSync(dir)) continue;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (/\.onnx(_data(_\d+)?)?$/.test(name))
        checkFile(folderReal, join(dir, name), sub === '.' ? name : `onnx/${name}`, undefined);
    }
  }
}

/** True when there is a directory entry at `p`, even a dangling link. */
function present(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Throws a typed error when a number the engine sizes things from is outside its sane range. */
export function checkConfigNumbers(id: string, config: Record<string, unknown>): void {
  for (const [key, [lo, hi]] of Object.entries(CONFIG_RANGES)) {
    const v = config[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new EngineError(
        'bad-model',
        `${id}: config.json says ${key} = ${typeof v === 'number' ? v : JSON.stringify(typeof v)}, outside the range ${lo}–${hi.toLocaleString('en-US')} a real model has.`,
      );
    }
  }
}

/** A JSON parse error without the file's content (Node quotes the first characters, which may be secrets). */
export function jsonErrorWithoutContent(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const at = /position (\d+)/.exec(message)?.[1];
  return at ? `not valid JSON at position ${at}` : 'not valid JSON';
}

/**
 * For a local folder whose config.json declares external weights (`transformers.js_config.use_external_data_format`:
 * true, a chunk count, or per-file counts), checks the `.onnx_data` files exist before transformers.js looks: when
 * one is missing, transformers.js 4.3's loader never settles its promise, and the load would hang.
 */
export function checkExternalDataFiles(id: string, dtype: string, config: Record<string, unknown>): void {
  if (!isAbsolute(id)) return;
  const tjs = config['transformers.js_config'] as { use_external_data_format?: unknown } | undefined;
  const flag = tjs?.use_external_data_format;
  if (!flag) return;
  const base = `model${DTYPE_SUFFIX[dtype as Dtype] ?? ''}.onnx`;
  const count =
    typeof flag === 'object'
      ? Number((flag as Record<string, unknown>)[base] ?? (flag as Record<string, unknown>).model ?? 0)
      : Number(flag);
  if (!Number.isFinite(count) || count <= 0) return;
  if (count > 100)
    throw new EngineError(
      'bad-model',
      `${id}: config.json declares ${count} external weight chunks; transformers.js allows at most 100.`,
    );
  for (let i = 0; i < count; i++) {
    const name = `${base}_data${i === 0 ? '' : `_${i}`}`;
    if (!existsSync(join(id, 'onnx', name))) {
      throw new EngineError(
        'bad-model',
        `${id}: config.json says the weights are in external files, but onnx/${name} is missing. Copy it next to onnx/${base}.`,
      );
    }
  }
}
