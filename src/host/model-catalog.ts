// The models the picker offers: a curated list of hub exports in the transformers.js layout, and what is
// already in the cache. No 'vscode' here, so it is unit-tested in Node.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** A hub model the picker recommends. */
export interface CatalogModel {
  id: string;
  kind: 'encoder' | 'causal';
  layers: number;
  heads: number;
  /** Approximate download of the q8 and fp32 ONNX files, in MB. */
  q8Mb: number;
  fp32Mb: number;
  note: string;
}

/** Standard Xenova/Optimum exports whose attention is MatMul → Softmax → MatMul (no fused attention ops). */
export const CURATED: CatalogModel[] = [
  {
    id: 'Xenova/bert-base-uncased',
    kind: 'encoder',
    layers: 12,
    heads: 12,
    q8Mb: 110,
    fp32Mb: 440,
    note: "the classic; what the lesson's examples assume",
  },
  {
    id: 'Xenova/distilbert-base-uncased',
    kind: 'encoder',
    layers: 6,
    heads: 12,
    q8Mb: 67,
    fp32Mb: 265,
    note: 'half the layers of BERT',
  },
  {
    id: 'Xenova/roberta-base',
    kind: 'encoder',
    layers: 12,
    heads: 12,
    q8Mb: 125,
    fp32Mb: 500,
    note: 'byte-level BPE tokens',
  },
  {
    id: 'Xenova/all-MiniLM-L6-v2',
    kind: 'encoder',
    layers: 6,
    heads: 12,
    q8Mb: 23,
    fp32Mb: 90,
    note: 'small and quick',
  },
  {
    id: 'Xenova/gpt2',
    kind: 'causal',
    layers: 12,
    heads: 12,
    q8Mb: 130,
    fp32Mb: 500,
    note: 'a decoder: each token sees only the past',
  },
  { id: 'Xenova/distilgpt2', kind: 'causal', layers: 6, heads: 12, q8Mb: 85, fp32Mb: 330, note: 'a smaller decoder' },
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
  const shape = `${m.kind}, ${m.layers} layers × ${m.heads} heads · ≈ ${m.q8Mb} MB (q8) / ${m.fp32Mb} MB (fp32)`;
  if (cached) return `${shape} · cached`;
  return allowRemote
    ? `${shape} · downloads on first use`
    : `$(cloud-download) ${shape} · not downloaded, and downloads are off`;
}
