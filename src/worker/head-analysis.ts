// Attention rollout (Abnar & Zuidema, 2020) and head ranking, over one analysis's maps. Pure arithmetic.
import type { HeadScore, RankBy } from '../protocol/messages';

/** One layer's maps: heads × N × N, row-major. */
export type LayerMaps = Float32Array;

/** Heads averaged, the identity added for the residual path, rows renormalised: 0.5·mean(A) + 0.5·I. */
export function residualMean(layer: LayerMaps, heads: number, n: number): Float32Array {
  const n2 = n * n;
  const out = new Float32Array(n2);
  for (let k = 0; k < heads; k++) for (let i = 0; i < n2; i++) out[i] += layer[k * n2 + i];
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let j = 0; j < n; j++) {
      out[i * n + j] = out[i * n + j] / heads + (i === j ? 1 : 0);
      total += out[i * n + j];
    }
    if (total > 0) for (let j = 0; j < n; j++) out[i * n + j] /= total;
  }
  return out;
}

/** `a · b` for N×N row-major matrices (i-k-j order: the inner loop walks both rows contiguously). */
export function matmul(a: Float32Array, b: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[row + k];
      if (aik === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) out[row + j] += aik * b[bk + j];
    }
  }
  return out;
}

/** Rollout up to each layer, computed once and kept: R₀ = B₀, Rₖ = Bₖ · Rₖ₋₁. */
export class Rollout {
  private readonly cache: Float32Array[] = [];

  constructor(
    private readonly layers: LayerMaps[],
    private readonly heads: number[],
    private readonly n: number,
  ) {}

  /** The rollout matrix through layer `k` (0-based, inclusive). */
  upTo(k: number): Float32Array {
    for (let l = this.cache.length; l <= k; l++) {
      const b = residualMean(this.layers[l], this.heads[l], this.n);
      this.cache.push(l === 0 ? b : matmul(b, this.cache[l - 1], this.n));
    }
    return this.cache[k];
  }
}

/** Every layer × head scored by `by`, highest first. Presets average over the query tokens they apply to. */
export function rankHeads(layers: LayerMaps[], heads: number[], n: number, by: RankBy): HeadScore[] {
  const n2 = n * n;
  const out: HeadScore[] = [];
  layers.forEach((data, layer) => {
    for (let head = 0; head < heads[layer]; head++) {
      const m = (i: number, j: number) => data[head * n2 + i * n + j];
      let weight = 0;
      if (by.kind === 'pair') weight = m(by.query, by.key);
      else if (by.kind === 'previous') {
        for (let i = 1; i < n; i++) weight += m(i, i - 1);
        weight /= Math.max(1, n - 1);
      } else if (by.kind === 'first') {
        for (let i = 0; i < n; i++) weight += m(i, 0);
        weight /= n;
      } else {
        for (let i = 0; i < n; i++) weight += m(i, i);
        weight /= n;
      }
      out.push({ layer, head, weight });
    }
  });
  return out.sort((a, b) => b.weight - a.weight || a.layer - b.layer || a.head - b.head);
}
