// Loads a model through transformers.js (config, tokenizer, dtype file choice, hub download and cache) and
// swaps in an onnxruntime session whose graph exposes the attention Softmax outputs.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AutoConfig, AutoModel, AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { type Dtype, DTYPE_SUFFIX, type DtypeChoice } from '../protocol/dtypes';
import type { DownloadProgress, ModelInfo, ModelKind } from '../protocol/messages';
import { EngineError } from '../protocol/rpc';
import { resolveDtype } from './dtype-choice';
import { halfToFloat } from './float16';
import { exposeAttention, exposeAttentionInFile, prefixGraphInFile, type SurgeryResult } from './graph-surgery';
import {
  checkLoadFits,
  checkLocalJson,
  configureHub,
  explainLoadError,
  progressCallback,
  type HubOptions,
} from './hub';
import { configShape } from './model-config';
import { checkConfigNumbers, checkExternalDataFiles, checkModelFolder } from './model-files';
import { encode } from './tokenize';

/** Where and how to find a model. */
export interface LoadOptions extends HubOptions {
  model: string;
  /** A dtype, or `auto` (resolved here to the most faithful file that exists and fits). */
  dtype: DtypeChoice;
  /** Bytes a model may need to load; default 80% of this machine's memory. */
  modelMemoryLimit?: number;
  /** Hears download progress, at most every 100 ms per file (and when a file completes). */
  onProgress?: (p: DownloadProgress) => void;
}

type Config = Record<string, unknown>;

/** Config and tokenizer of a model, without its ONNX graph (enough to count tokens). */
export async function loadTextSide(
  id: string,
  onProgress?: (p: DownloadProgress) => void,
): Promise<{ config: Config; tokenizer: PreTrainedTokenizer }> {
  const progress_callback = progressCallback(onProgress);
  // The same message for the status bar's count and for an analysis (they used to disagree).
  if (isAbsolute(id) && !existsSync(id))
    throw new EngineError('model-not-found', `The model folder ${id} does not exist.`);
  checkModelFolder(id);
  try {
    const config = (await AutoConfig.from_pretrained(id, { progress_callback } as never)) as unknown as Config;
    checkConfigNumbers(id, config);
    return { config, tokenizer: await AutoTokenizer.from_pretrained(id, { progress_callback } as never) };
  } catch (error) {
    if (error instanceof EngineError) throw error;
    // Only on failure: re-read a local folder's JSON files to name the broken one (transformers.js does not).
    checkLocalJson(id);
    throw explainLoadError(id, error);
  }
}

/** A model ready to run, with its attention outputs exposed. */
export class LoadedModel {
  private constructor(
    readonly id: string,
    readonly dtype: Dtype,
    readonly tokenizer: PreTrainedTokenizer,
    readonly config: Config,
    private live: ort.InferenceSession | undefined,
    /** The options the session was created with, to create it again after suspend(). */
    private readonly sessionOptions: unknown,
    readonly surgery: SurgeryResult,
    private readonly owner: { dispose(): Promise<unknown> } | undefined,
    readonly info: ModelInfo,
    readonly loadMs: number,
    /** Where the model's external weights are resolved, for the lens and long sessions. */
    readonly folder: string | undefined,
    /** The .onnx file the session came from (undefined when transformers.js handed over bytes). */
    readonly modelPath: string | undefined,
    /** Each exposed map's rank (4 for [batch, heads, N, N]; older exports flatten to 3). */
    readonly attentionRanks: number[],
  ) {}

  private lens: Promise<ort.InferenceSession> | undefined;
  private resuming: Promise<ort.InferenceSession> | undefined;
  /** True once the session transformers.js made is released (its owner must not release it again). */
  private ownerSessionGone = false;

  /** The session with the attention outputs exposed (generation runs it step by step); resume() first. */
  get session(): ort.InferenceSession {
    if (!this.live)
      throw new EngineError('bad-model', `${this.id}: the model's session is suspended (resume it first).`);
    return this.live;
  }

  /**
   * Releases the session while a long analysis runs on its own (long-run.ts): onnxruntime-node cannot share weights
   * between sessions, so keeping both held the model twice (measured on the SmolLM2 shape: +540 MB, a peak of
   * 1.40–1.52 × the plain forward pass's). Only for models read from a file, which resume() can read again.
   */
  async suspend(): Promise<void> {
    // A resume under way (after an earlier long analysis) finishes first, so its session is the one released; so
    // does a pass under way (the rest of a first-view analysis may be running).
    await this.resuming?.catch(() => undefined);
    await this.settled();
    await this.releasePrefix();
    if (!this.live || !this.modelPath) return;
    const s = this.live;
    this.live = undefined;
    this.ownerSessionGone = true;
    await s.release();
  }

  /** Creates the session again after suspend() (a second or two on a 135M-parameter model; nothing when live). */
  async resume(): Promise<void> {
    if (this.live) return;
    this.resuming ??= createFromBytes(
      ort.InferenceSession.create.bind(ort.InferenceSession) as (...a: unknown[]) => Promise<ort.InferenceSession>,
      this.id,
      this.surgery.bytes,
      this.sessionOptions,
      this.folder,
    );
    try {
      this.live = await this.resuming;
    } finally {
      this.resuming = undefined;
    }
  }

  /** The session of the logit-lens graph (surgery.lensBytes), created on first use and kept with the model. */
  lensSession(): Promise<ort.InferenceSession> | undefined {
    const bytes = this.surgery.lensBytes;
    if (!bytes) return undefined;
    this.lens ??= createFromBytes(
      ort.InferenceSession.create.bind(ort.InferenceSession) as (...a: unknown[]) => Promise<ort.InferenceSession>,
      this.id,
      bytes,
      undefined,
      this.folder,
    );
    this.lens.catch(() => {
      this.lens = undefined;
    });
    return this.lens;
  }

  /** Loads a model by hub id or folder; throws EngineError with a user-facing message. */
  static async load(opts: LoadOptions): Promise<LoadedModel> {
    const started = performance.now();
    const id = opts.model;
    if (isAbsolute(id) && !existsSync(id))
      throw new EngineError('model-not-found', `The model folder ${id} does not exist.`);
    checkModelFolder(id);
    configureHub(opts);
    const { config, tokenizer } = await loadTextSide(id, opts.onProgress);
    if (config.is_encoder_decoder)
      throw new EngineError(
        'bad-input',
        `${id} is an encoder–decoder model (${String(config.model_type)}): its attention comes from a translation ` +
          '(Show Attention translates the selection; on the command line, analyze translates or reads --target).',
      );
    const tjs = config['transformers.js_config'] as { use_external_data_format?: unknown; dtype?: unknown } | undefined;
    const dtype = await resolveDtype(id, opts.dtype, {
      allowRemote: opts.allowRemote,
      memoryLimit: opts.modelMemoryLimit,
      externalData: !!tjs?.use_external_data_format,
      configDtype: tjs?.dtype,
    });
    const local = localOnnxFile(id, dtype);
    if (local) checkLoadFits(id, statSync(local).size + externalDataBytes(local), opts.modelMemoryLimit);
    checkExternalDataFiles(id, dtype, config);
    const { session, options, surgery, owner, folder, path } = await createSession(
      id,
      dtype,
      config,
      opts.modelMemoryLimit,
      progressCallback(opts.onProgress),
    );
    const partial = { id, dtype, config, tokenizer, session, surgery };
    const probe = await probeShape(partial);
    const shape = configShape(config, tokenizer);
    const configKv = Number(config.num_key_value_heads ?? 0);
    const info: ModelInfo = {
      id,
      kind: probe.kind,
      modelType: String(config.model_type ?? 'unknown'),
      layers: surgery.attentionOutputs.length,
      heads: probe.heads,
      maxPositions: shape.maxPositions,
      hiddenSize: shape.hiddenSize,
      dtype,
      // From the op (GroupQueryAttention's kv_num_heads), else config.json (plain graphs repeat K/V before the
      // product, so the maps cannot tell), else one K/V head per query head.
      kvHeads: probe.heads.map((h, l) => {
        const kv = surgery.layers[l]?.kvHeads ?? (configKv > 0 && h % configKv === 0 ? configKv : h);
        return kv > 0 && h % kv === 0 ? kv : h;
      }),
      attentionOps: surgery.layers.map((l) => l.op),
    };
    return new LoadedModel(
      id,
      dtype,
      tokenizer,
      config,
      session,
      options,
      surgery,
      owner,
      info,
      performance.now() - started,
      folder,
      path,
      probe.ranks,
    );
  }

  /** Runs the model on token ids; returns one [heads × N × N] array per layer. */
  async run(ids: number[], attentionMask?: number[]): Promise<Float32Array[]> {
    return this.track(async () => {
      await this.resume();
      return runAttention(this.session, this.surgery.attentionOutputs, ids, attentionMask);
    });
  }

  /**
   * Only the given layers' maps, in that order: no other map is copied out of onnxruntime. (It still runs the
   * whole graph: measured on bert-base at N = 512, fetching layer 0 takes as long as the last layer.)
   */
  async runLayers(ids: number[], layers: number[]): Promise<Float32Array[]> {
    return this.track(async () => {
      await this.resume();
      const names = this.surgery.attentionOutputs;
      return runAttention(
        this.session,
        layers.map((l) => names[l]),
        ids,
      );
    });
  }

  /**
   * Layer `layer`'s maps for a first view. An early layer (the first half of the model; layer 0 is the panel's
   * default) runs a session of the graph cut after that layer's attention, so the pass costs that layer and the
   * ones before it instead of the whole model (bert-base at N = 512: 0.04–0.14 × the plain pass for layer 0). The cut
   * is built in the background the first time a layer is asked for, and kept: building it (parse, session) costs
   * more than it saves on one short text, so that analysis fetches the layer from the whole graph. A later layer, a
   * model from bytes, or a graph that cannot be cut always does.
   */
  async runFirstView(ids: number[], layer: number): Promise<Float32Array> {
    const cut = this.cutFor(layer);
    this.lastFirstViewCut = cut !== undefined;
    if (!cut) return (await this.runLayers(ids, [layer]))[0];
    const run = this.track(async () => (await runAttention(cut, [cut.outputNames[0]], ids))[0]);
    this.cutRuns.add(run);
    const done = () => this.cutRuns.delete(run);
    run.then(done, done);
    return run;
  }

  /** Passes on a cut session under way: a cut for another layer releases the old one only after them. */
  private readonly cutRuns = new Set<Promise<unknown>>();

  /** Whether the last runFirstView ran a cut graph (for tests). */
  lastFirstViewCut = false;

  private prefix: { layer: number; session: ort.InferenceSession | undefined } | undefined;

  /** The cut session for `layer` when built; else starts building it (replacing another layer's) and says undefined. */
  private cutFor(layer: number): ort.InferenceSession | undefined {
    if (!this.modelPath || 2 * (layer + 1) > this.info.layers) return undefined;
    if (this.prefix?.layer === layer) return this.prefix.session;
    const old = this.prefix?.session;
    const entry: { layer: number; session: ort.InferenceSession | undefined } = { layer, session: undefined };
    this.prefix = entry;
    const path = this.modelPath;
    // Tracked like a pass: suspend() and dispose() wait for it, then release what it made.
    void this.track(async () => {
      await Promise.allSettled([...this.cutRuns]);
      await old?.release();
      const bytes = prefixGraphInFile(path, this.id, layer);
      if (!bytes) return;
      const session = await createFromBytes(
        ort.InferenceSession.create.bind(ort.InferenceSession) as (...a: unknown[]) => Promise<ort.InferenceSession>,
        this.id,
        bytes,
        this.sessionOptions,
        this.folder,
      );
      if (this.prefix === entry) entry.session = session;
      else await session.release();
    }).catch(() => undefined); // A cut that fails to build is not worth an error: the whole graph gives the same map.
    return undefined;
  }

  /** Resolves once a cut being built is ready (or given up), for tests and benchmarks. */
  async cutsSettled(): Promise<void> {
    await this.settled();
  }

  private async releasePrefix(): Promise<void> {
    const session = this.prefix?.session;
    this.prefix = undefined;
    await session?.release();
  }

  private readonly passes = new Set<Promise<unknown>>();

  /** Runs a pass that suspend() and dispose() wait for: the session is never released under it. */
  private track<T>(pass: () => Promise<T>): Promise<T> {
    const p = pass();
    this.passes.add(p);
    const done = () => this.passes.delete(p);
    p.then(done, done);
    return p;
  }

  /** Resolves when no pass started by run() / runLayers() is under way. */
  private async settled(): Promise<void> {
    while (this.passes.size > 0) await Promise.allSettled([...this.passes]);
  }

  /** Releases the onnxruntime session. */
  async dispose(): Promise<void> {
    await this.settled();
    await this.releasePrefix();
    const lens = this.lens;
    this.lens = undefined;
    if (lens) await (await lens.catch(() => undefined))?.release();
    const live = this.live;
    this.live = undefined;
    if (this.owner && !this.ownerSessionGone) await this.owner.dispose();
    else await live?.release();
  }
}

/**
 * Lets transformers.js resolve, download and cache the ONNX file, and intercepts the moment it creates the
 * onnxruntime session: the graph gets its attention outputs before the session exists. Both sides resolve the
 * same onnxruntime-node module, so the patched `InferenceSession.create` is the one transformers.js calls.
 */
async function createSession(
  id: string,
  dtype: Dtype,
  config: Config,
  memoryLimit: number | undefined,
  progress_callback: ((d: unknown) => void) | undefined,
) {
  const original = ort.InferenceSession.create.bind(ort.InferenceSession) as (
    ...a: unknown[]
  ) => Promise<ort.InferenceSession>;
  let captured:
    | {
        session: ort.InferenceSession;
        options: unknown;
        surgery: SurgeryResult;
        folder: string | undefined;
        path: string | undefined;
      }
    | undefined;
  const intercept = async (pathOrBytes: unknown, options: unknown) => {
    const folder = typeof pathOrBytes === 'string' ? dirname(pathOrBytes) : undefined;
    if (typeof pathOrBytes === 'string')
      checkLoadFits(id, statSync(pathOrBytes).size + externalDataBytes(pathOrBytes), memoryLimit);
    // From a file (what transformers.js passes in Node) the weights are never read into JavaScript.
    let surgery: SurgeryResult;
    if (typeof pathOrBytes === 'string') surgery = exposeAttentionInFile(pathOrBytes, id);
    else {
      checkLoadFits(id, (pathOrBytes as Uint8Array).length, memoryLimit);
      surgery = exposeAttention(pathOrBytes as Uint8Array, id);
    }
    const session = await createFromBytes(original, id, surgery.bytes, options, folder);
    captured = { session, options, surgery, folder, path: typeof pathOrBytes === 'string' ? pathOrBytes : undefined };
    return session;
  };
  (ort.InferenceSession as unknown as { create: unknown }).create = intercept;
  try {
    const owner = await AutoModel.from_pretrained(id, { dtype, device: 'cpu', config, progress_callback } as never);
    if (!captured) throw new EngineError('bad-model', `${id}: transformers.js created no onnxruntime session.`);
    return { ...captured, owner: owner as unknown as { dispose(): Promise<unknown> } };
  } catch (error) {
    if (error instanceof EngineError) throw error;
    // transformers.js does not know every architecture; a folder with an ONNX graph still works directly.
    const file = localOnnxFile(id, dtype);
    if (!file) throw explainLoadError(id, error);
    const surgery = exposeAttentionInFile(file, id);
    const session = await createFromBytes(original, id, surgery.bytes, undefined, dirname(file));
    return { session, options: undefined, surgery, owner: undefined, folder: dirname(file), path: file };
  } finally {
    (ort.InferenceSession as unknown as { create: unknown }).create = original;
  }
}

/**
 * Creates the session from the rewritten bytes. External weight files (`model.onnx_data`) are resolved against
 * the folder the .onnx file came from — never the process's working directory, where onnxruntime would look for a
 * session created from bytes (a graph's `location: secret/x.bin` must not read a file next to the host).
 */
export async function createFromBytes(
  create: (...a: unknown[]) => Promise<ort.InferenceSession>,
  id: string,
  bytes: Uint8Array,
  options: unknown,
  folder: string | undefined,
) {
  const o = quietThreads(options) as { extra?: { session?: Record<string, unknown> } };
  if (folder)
    o.extra = { ...o.extra, session: { ...o.extra?.session, model_external_initializers_file_folder_path: folder } };
  try {
    return await create(bytes, o);
  } catch (error) {
    throw explainSessionError(id, error);
  }
}

/** onnxruntime's session errors as typed messages (the raw ones name C++ internals). */
function explainSessionError(id: string, error: unknown): EngineError {
  const message = error instanceof Error ? error.message : String(error);
  if (/external data|escapes|ExternalData|onnx_data/i.test(message)) {
    return new EngineError(
      'bad-model',
      `${id}: the graph's external weights could not be read: they must be files inside the model's onnx/ folder ` +
        `(e.g. model.onnx_data next to model.onnx). ${/escapes/i.test(message) ? 'A weight file points outside that folder.' : 'A weight file is missing or too short.'}`,
    );
  }
  return new EngineError(
    'bad-model',
    `${id}: onnxruntime could not create a session for the graph (${message.split('\n')[0].slice(0, 300)}).`,
  );
}

/** Sizes of the `<model>.onnx_data*` files next to an .onnx file (they load into memory too). */
function externalDataBytes(onnxPath: string): number {
  const dir = dirname(onnxPath);
  const base = onnxPath.slice(dir.length + 1);
  let total = 0;
  for (const name of readdirSync(dir)) if (name.startsWith(`${base}_data`)) total += statSync(join(dir, name)).size;
  return total;
}

/**
 * Session options with onnxruntime's intra-op threads told not to spin while idle. Spinning makes a pass ~5%
 * faster on an idle machine but burns ~20% more CPU, which inside VS Code is taken from the workbench and the
 * extension host on the same cores (measured with npm run bench:e2e).
 */
function quietThreads(options: unknown): Record<string, unknown> {
  const o = (options && typeof options === 'object' ? options : {}) as {
    extra?: { session?: Record<string, unknown> };
  };
  return { ...o, extra: { ...o.extra, session: { intra_op: { allow_spinning: '0' }, ...o.extra?.session } } };
}

function localOnnxFile(id: string, dtype: Dtype): string | undefined {
  const base = isAbsolute(id) ? id : join(env.localModelPath ?? '', id);
  const name = `model${DTYPE_SUFFIX[dtype]}.onnx`;
  return [join(base, 'onnx', name), join(base, name)].find((p) => existsSync(p));
}

function int64(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
}

/** Inputs for one unbatched pass: ids, a mask, zero type ids, positions, an empty past and the no-cache branch. */
export function feedsFor(
  session: ort.InferenceSession,
  ids: number[],
  mask?: number[],
  given: Record<string, ort.Tensor> = {},
): Record<string, ort.Tensor> {
  const n = ids.length;
  const feeds: Record<string, ort.Tensor> = {};
  const metadata =
    (session as unknown as { inputMetadata?: { name: string; type?: string; shape?: (string | number)[] }[] })
      .inputMetadata ?? [];
  for (const name of session.inputNames) {
    if (given[name]) feeds[name] = given[name];
    else if (name === 'input_ids') feeds[name] = int64(ids, [1, n]);
    else if (name === 'attention_mask') feeds[name] = int64(mask ?? new Array(n).fill(1), [1, n]);
    else if (name === 'token_type_ids') feeds[name] = int64(new Array(n).fill(0), [1, n]);
    else if (name === 'position_ids')
      feeds[name] = int64(
        ids.map((_, i) => i),
        [1, n],
      );
    else if (name === 'use_cache_branch') feeds[name] = new ort.Tensor('bool', [false], [1]);
    // Logits are never read: only the last position's reach the LM head (transformers.js feeds it too).
    else if (name === 'num_logits_to_keep' || name === 'logits_to_keep')
      feeds[name] = new ort.Tensor('int64', BigInt64Array.from([1n]), []);
    else if (/^past_key_values\.|^past_/.test(name)) {
      const meta = metadata.find((m) => m.name === name);
      const shape = meta?.shape ?? [];
      const dims = shape.map((d, i) => (i === 2 ? 0 : typeof d === 'number' ? d : 1));
      if (dims.length !== 4)
        throw new EngineError(
          'bad-model',
          `cannot feed an empty past for input ${name} (shape ${JSON.stringify(shape)}).`,
        );
      // An fp16 graph's cache is float16 (transformers.js' kv_cache_dtype); empty either way.
      feeds[name] =
        meta?.type === 'float16'
          ? new ort.Tensor('float16', new Uint16Array(0), dims)
          : new ort.Tensor('float32', new Float32Array(0), dims);
    } else {
      throw new EngineError(
        'bad-model',
        `the graph wants an input the engine cannot provide: ${name} (inputs: ${session.inputNames.join(', ')}).`,
      );
    }
  }
  return feeds;
}

async function runAttention(
  session: ort.InferenceSession,
  outputs: string[],
  ids: number[],
  mask?: number[],
  ranks?: number[],
): Promise<Float32Array[]> {
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    result = await session.run(feedsFor(session, ids, mask), outputs);
  } catch (error) {
    if (error instanceof EngineError) throw error;
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 300);
    const hint = /Gather|indices|out of bounds|out of range/i.test(message)
      ? " A token id is outside the model's embedding table: the tokenizer and the ONNX graph do not belong together."
      : '';
    throw new EngineError('bad-model', `the model failed while running (${message}).${hint}`);
  }
  return outputs.map((name) => {
    const tensor = result[name];
    ranks?.push(tensor?.dims.length ?? 0);
    // fp16 graphs return float16 maps; everything downstream works in float32.
    if (tensor?.type === 'float16') return halfToFloat(tensor.data as Uint16Array);
    if (tensor?.type !== 'float32')
      throw new EngineError('bad-model', `attention output ${name} is missing or not float32/float16.`);
    return tensor.data as Float32Array;
  });
}

/** Most heads per layer a model may have (real models have at most a few hundred). */
const MAX_HEADS_PER_LAYER = 1024;

/** Runs three tokens to learn heads per layer and whether the model is causal (upper triangle all zero). */
async function probeShape(m: {
  id: string;
  tokenizer: PreTrainedTokenizer;
  session: ort.InferenceSession;
  surgery: SurgeryResult;
}): Promise<{ kind: ModelKind; heads: number[]; ranks: number[] }> {
  let ids = encode(m.tokenizer, 'a b c d');
  if (ids.length < 3) ids = [...ids, ...ids, ...ids].slice(0, 3);
  const n = ids.length;
  const ranks: number[] = [];
  const layers = await runAttention(m.session, m.surgery.attentionOutputs, ids, undefined, ranks);
  const heads = layers.map((data) => {
    const h = data.length / (n * n);
    if (!Number.isInteger(h) || h < 1)
      throw new EngineError(
        'no-attention-softmax',
        `${m.id}: a Softmax output that looked like attention is not N×N (size ${data.length} for N=${n}).`,
      );
    if (h > MAX_HEADS_PER_LAYER)
      throw new EngineError(
        'bad-model',
        `${m.id}: a layer has ${h} attention heads, more than the ${MAX_HEADS_PER_LAYER} a real model has.`,
      );
    return h;
  });
  let causal = true;
  for (let i = 0; i < n && causal; i++)
    for (let j = i + 1; j < n; j++)
      if (layers[0][i * n + j] !== 0) {
        causal = false;
        break;
      }
  return { kind: causal ? 'causal' : 'encoder', heads, ranks };
}
