// The models the picker offers: a curated list of hub exports in the transformers.js layout, and what is
// already in the cache. No 'vscode' here, so it is unit-tested in Node.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AUTO_ORDER, type Dtype } from '../protocol/dtypes';

/** A hub model the picker recommends. */
export interface CatalogModel {
  id: string;
  kind: 'encoder' | 'causal' | 'encoder-decoder';
  /** Per stack for encoder–decoders (as many in the decoder). */
  layers: number;
  heads: number;
  /** Key/value heads (fewer than `heads` under grouped-query attention). */
  kvHeads: number;
  /** The dtypes the repository ships and their approximate download (ONNX file + external data), in MB. */
  dtypes: Partial<Record<Dtype, number>>;
  note: string;
}

const bertSizes = (fp32: number) => ({ fp32, fp16: Math.round(fp32 / 2), q8: Math.round(fp32 / 4) });

/**
 * Encoders and GPT-2 (Xenova/*, Optimum exports, plain MatMul → Softmax → MatMul) and the small decoders people run
 * with transformers.js today. Sizes and shapes are from the model cards and file listings (this machine cannot
 * reach the hub); the layouts are proven by the fixtures in test/unit/modern-models.test.ts.
 */
export const CURATED: CatalogModel[] = [
  {
    id: 'Xenova/bert-base-uncased',
    kind: 'encoder',
    layers: 12,
    heads: 12,
    kvHeads: 12,
    dtypes: bertSizes(440),
    note: "the classic; what the lesson's examples assume",
  },
  {
    id: 'Xenova/distilbert-base-uncased',
    kind: 'encoder',
    layers: 6,
    heads: 12,
    kvHeads: 12,
    dtypes: bertSizes(265),
    note: 'half the layers of BERT',
  },
  {
    id: 'Xenova/roberta-base',
    kind: 'encoder',
    layers: 12,
    heads: 12,
    kvHeads: 12,
    dtypes: bertSizes(500),
    note: 'byte-level BPE tokens',
  },
  {
    id: 'Xenova/all-MiniLM-L6-v2',
    kind: 'encoder',
    layers: 6,
    heads: 12,
    kvHeads: 12,
    dtypes: bertSizes(90),
    note: 'small and quick',
  },
  {
    id: 'Xenova/gpt2',
    kind: 'causal',
    layers: 12,
    heads: 12,
    kvHeads: 12,
    dtypes: bertSizes(500),
    note: 'a decoder: each token sees only the past',
  },
  {
    id: 'Xenova/distilgpt2',
    kind: 'causal',
    layers: 6,
    heads: 12,
    kvHeads: 12,
    dtypes: bertSizes(330),
    note: 'a smaller decoder',
  },
  {
    id: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    kind: 'causal',
    layers: 30,
    heads: 9,
    kvHeads: 3,
    dtypes: { fp32: 540, fp16: 270, q8: 140, q4f16: 120, q4: 160, bnb4: 150 },
    note: 'Llama-family, grouped-query attention',
  },
  {
    id: 'HuggingFaceTB/SmolLM2-360M-Instruct',
    kind: 'causal',
    layers: 32,
    heads: 15,
    kvHeads: 5,
    dtypes: { fp32: 1450, fp16: 725, q8: 370, q4f16: 270, q4: 340, bnb4: 320 },
    note: 'Llama-family, grouped-query attention',
  },
  {
    id: 'onnx-community/Qwen2.5-0.5B-Instruct',
    kind: 'causal',
    layers: 24,
    heads: 14,
    kvHeads: 2,
    dtypes: { fp32: 1980, fp16: 990, q8: 500, q4f16: 480, q4: 790, bnb4: 760 },
    note: 'Qwen2: RoPE, grouped-query attention, weights in .onnx_data',
  },
  {
    id: 'onnx-community/Qwen3-0.6B-ONNX',
    kind: 'causal',
    layers: 28,
    heads: 16,
    kvHeads: 8,
    dtypes: { fp32: 2400, fp16: 1200, q8: 760, q4f16: 570, q4: 920 },
    note: 'Qwen3 (adds q/k norms, not covered by a fixture)',
  },
  {
    id: 'onnx-community/Llama-3.2-1B-Instruct',
    kind: 'causal',
    layers: 16,
    heads: 32,
    kvHeads: 8,
    dtypes: { fp32: 4940, fp16: 2470, q8: 1240, q4f16: 1010, q4: 1640, bnb4: 1580 },
    note: 'Llama 3.2; fp32 needs ~15 GB to load',
  },
  {
    id: 'onnx-community/gemma-3-270m-it-ONNX',
    kind: 'causal',
    layers: 18,
    heads: 4,
    kvHeads: 1,
    dtypes: { fp32: 1140, fp16: 570, q8: 290, q4f16: 260, q4: 400 },
    note: 'Gemma 3 (sliding-window layers; its q/k norms are not covered by a fixture)',
  },
  // Encoder–decoders: Show Attention translates the selection. Download sizes are estimated from the parameter
  // counts (encoder + merged decoder, each holding the shared embeddings).
  {
    id: 'Xenova/opus-mt-en-fr',
    kind: 'encoder-decoder',
    layers: 6,
    heads: 8,
    kvHeads: 8,
    dtypes: { fp32: 420, q8: 110 },
    note: 'Marian English → French, the lesson’s example',
  },
  {
    id: 'Xenova/t5-small',
    kind: 'encoder-decoder',
    layers: 6,
    heads: 8,
    kvHeads: 8,
    dtypes: { fp32: 310, q8: 80 },
    note: 'T5 with its task prefix (translate English to German)',
  },
  {
    id: 'Xenova/nllb-200-distilled-600M',
    kind: 'encoder-decoder',
    layers: 12,
    heads: 16,
    kvHeads: 16,
    dtypes: { fp32: 3500, q8: 900 },
    note: 'NLLB, 200 languages (attentionLens.sourceLanguage / targetLanguage)',
  },
];

/** A model found in the cache. */
export interface CachedModel {
  id: string;
  files: string[];
  bytes: number;
}

/** Models in a transformers.js cache folder (`<org>/<name>/` holding a config.json and ONNX files). */
export function cachedModels(cacheDir: string | undefined): CachedModel[] {
  if (!cacheDir || !existsSync(cacheDir)) return [];
  const out: CachedModel[] = [];
  const dirs = (p: string) =>
    readdirSync(p, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  for (const org of dirs(cacheDir)) {
    for (const name of dirs(join(cacheDir, org))) {
      const dir = join(cacheDir, org, name);
      if (!existsSync(join(dir, 'config.json'))) continue;
      const onnxDir = join(dir, 'onnx');
      const files = existsSync(onnxDir) ? readdirSync(onnxDir).filter((f) => f.endsWith('.onnx')) : [];
      if (!files.length) continue;
      out.push({ id: `${org}/${name}`, files, bytes: files.reduce((s, f) => s + statSync(join(onnxDir, f)).size, 0) });
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * The picker's line for a curated model: shape and sizes, and whether it is here. Offline (downloads off) a model
 * that is not cached says so, instead of failing only at the next run.
 */
export function describeCurated(m: CatalogModel, cached: boolean, allowRemote: boolean): string {
  const kv = m.kvHeads !== m.heads ? ` (${m.kvHeads} KV)` : '';
  const sizes = AUTO_ORDER.filter((d) => m.dtypes[d] !== undefined)
    .map((d) => `${d} ${formatMb(m.dtypes[d]!)}`)
    .join(' · ');
  const layers = m.kind === 'encoder-decoder' ? `${m.layers} + ${m.layers}` : `${m.layers}`;
  const shape = `${m.kind}, ${layers} layers × ${m.heads} heads${kv} · ≈ ${sizes}`;
  if (cached) return `${shape} · cached`;
  return allowRemote
    ? `${shape} · downloads on first use`
    : `$(cloud-download) ${shape} · not downloaded, and downloads are off`;
}

/** Megabytes as the picker shows them (GB above 1000 MB). */
function formatMb(mb: number): string {
  return mb >= 1000 ? `${(mb / 1000).toFixed(1)} GB` : `${mb} MB`;
}
