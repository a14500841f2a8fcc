// While the model writes, the panel grows one head's matrix row by row. Generation keeps each position's rows of every
// head (heads × (q + 1)); this picks the watched head (or the mean / max over the layer's heads) for rows [from, to).
import type { HeadSelector } from '../protocol/messages';

/** Rows [from, to) of the watched view as (to − from) × to float32, row q zero beyond its q + 1 causal weights. */
export function liveRows(
  rows: Float32Array[],
  heads: number,
  head: HeadSelector,
  from: number,
  to: number,
): Float32Array {
  const out = new Float32Array((to - from) * to);
  for (let q = from; q < to; q++) {
    const all = rows[q];
    const width = q + 1;
    const at = (q - from) * to;
    if (typeof head === 'number') {
      out.set(all.subarray(head * width, (head + 1) * width), at);
      continue;
    }
    // Rollout needs every layer's full matrices: while writing, the mean of the layer's heads stands in for it.
    for (let k = 0; k < width; k++) {
      let v = 0;
      for (let h = 0; h < heads; h++) {
        const x = all[h * width + k];
        v = head === 'max' ? Math.max(v, x) : v + x / heads;
      }
      out[at + k] = v;
    }
  }
  return out;
}
