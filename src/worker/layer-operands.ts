// What a panel needs to compute a long analysis's exact rows itself (src/protocol/local-rows.ts), checked here: keys
// shared by a group of heads, and the mask read as which keys each row reads. LongRunner.operands puts them together.
import type * as ort from 'onnxruntime-node';
import { keyRange, type LayerOperands } from '../protocol/local-rows';
import type { RowRecipe } from '../protocol/messages';

/** Largest difference allowed between rows the panel computes (float64 sums) and the engine's (float32 kernels). */
export const LOCAL_TOLERANCE = 1e-5;

/** A layer's operands with how they were checked. */
export type Operands = LayerOperands & { checked: { rows: number; worst: number } };

/**
 * Key heads the panel needs: K repeated for grouped-query attention is sent once per group when every head of the
 * group holds the same keys (checked, not assumed), else every head's.
 */
export function sharedKeyHeads(k: Float32Array, heads: number, kvHeads: number, size: number): number {
  if (!(kvHeads > 0 && kvHeads < heads && heads % kvHeads === 0)) return heads;
  const group = heads / kvHeads;
  for (let h = 0; h < heads; h++) {
    const first = Math.floor(h / group) * group;
    if (h === first) continue;
    for (let i = 0; i < size; i++) if (k[h * size + i] !== k[first * size + i]) return heads;
  }
  return kvHeads;
}

/** Below this a mask value hides its key (exp underflows to exactly 0 in float32 after the Softmax's shift). */
const HIDDEN = -1e4;

/**
 * The mask as which keys each row reads: every value 0 (read) or ≤ HIDDEN (hidden), and the read keys of row i one
 * run [max(0, i − window + 1), i] (causal, sliding window) or [0, N − 1]. Anything else (a bias) is refused.
 */
export function maskRecipe(t: ort.Tensor, n: number): Pick<RowRecipe, 'causal' | 'window'> | { unavailable: string } {
  const d = t.dims;
  if (t.type !== 'float32' || d.length < 2 || d[d.length - 1] !== n || d[d.length - 2] !== n)
    return { unavailable: `the mask is ${t.type} [${d}]` };
  const data = t.data as Float32Array;
  const slices = data.length / (n * n);
  const runs: { from: number; to: number }[] = [];
  for (let s = 0; s < slices; s++)
    for (let i = 0; i < n; i++) {
      const row = s * n * n + i * n;
      let from = -1;
      let to = -1;
      for (let j = 0; j < n; j++) {
        const v = data[row + j];
        if (v === 0) {
          if (from < 0) from = j;
          else if (to !== j - 1) return { unavailable: 'the mask reads keys in more than one run' };
          to = j;
        } else if (!(v <= HIDDEN)) return { unavailable: 'the mask adds biases, not only 0 and −∞' };
      }
      if (from < 0) return { unavailable: `the mask hides every key of row ${i}` };
      if (s === 0) runs.push({ from, to });
      else if (runs[i].from !== from || runs[i].to !== to) return { unavailable: 'the mask differs between heads' };
    }
  const causal = n > 1 && runs[0].to === 0;
  const last = runs[n - 1];
  const window = last.from > 0 ? n - last.from : 0;
  for (let i = 0; i < n; i++) {
    const want = keyRange({ steps: [], causal, window }, n, i);
    if (runs[i].from !== want.from || runs[i].to !== want.to)
      return { unavailable: 'the mask is neither causal, a sliding window, nor open' };
  }
  return { causal, window };
}
