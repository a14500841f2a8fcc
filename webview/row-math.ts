// Pure arithmetic on attention matrices for the panel: hiding special tokens, the top-X% threshold,
// and a focus token's distribution. No DOM, so unit tests run it in Node.
import type { Direction } from '../src/protocol/messages';

/** Each row renormalised over the visible keys (hidden rows all zero); the input itself when nothing is hidden. */
export function renormalise(m: Float32Array, n: number, hidden: boolean[]): Float32Array {
  if (!hidden.some(Boolean)) return m;
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    if (hidden[i]) continue;
    let total = 0;
    for (let j = 0; j < n; j++) if (!hidden[j]) total += m[i * n + j];
    if (total <= 0) continue;
    for (let j = 0; j < n; j++) if (!hidden[j]) out[i * n + j] = m[i * n + j] / total;
  }
  return out;
}

/** Keeps, in each of `rows` rows of length `n`, the largest weights that together reach `keep` (0..1] of the row's mass; the rest become 0. */
export function keepTopMass(m: Float32Array, rows: number, n: number, keep: number): Float32Array {
  if (keep >= 1) return m;
  const out = new Float32Array(rows * n);
  const sorted = new Float32Array(n);
  for (let i = 0; i < rows; i++) {
    const row = m.subarray(i * n, (i + 1) * n);
    sorted.set(row);
    sorted.sort();
    let total = 0;
    for (let j = 0; j < n; j++) total += sorted[j];
    // Walk down from the largest weight until the kept mass reaches the target; ties at the cut stay in.
    let acc = 0;
    let cut = Infinity;
    for (let j = n - 1; j >= 0 && acc < keep * total; j--) {
      acc += sorted[j];
      cut = sorted[j];
    }
    for (let j = 0; j < n; j++) if (row[j] >= cut && row[j] > 0) out[i * n + j] = row[j];
  }
  return out;
}

/** Each of `rows` rows with hidden entries zeroed and the rest scaled to sum to 1 (per-head rows in the "all heads" view). */
export function normaliseRows(m: Float32Array, rows: number, n: number, hidden: boolean[]): Float32Array {
  const out = new Float32Array(rows * n);
  for (let k = 0; k < rows; k++) {
    let total = 0;
    for (let j = 0; j < n; j++) if (!hidden[j]) total += m[k * n + j];
    if (total > 0) for (let j = 0; j < n; j++) if (!hidden[j]) out[k * n + j] = m[k * n + j] / total;
  }
  return out;
}

/** The focus token's distribution: its row, or its column scaled to sum to 1 (share of all attention it receives). */
export function focusDistribution(m: Float32Array, n: number, index: number, direction: Direction): Float32Array {
  if (direction === 'row') return m.slice(index * n, (index + 1) * n);
  const out = new Float32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    out[i] = m[i * n + index];
    total += out[i];
  }
  if (total > 0) for (let i = 0; i < n; i++) out[i] /= total;
  return out;
}

/** Indices of the `k` largest positive values, largest first (one pass keeping a sorted top-k: no N-sized sort on hover). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  const top: number[] = [];
  for (let j = 0; j < values.length; j++) {
    const v = values[j];
    if (!(v > 0) || (top.length === k && v <= values[top[k - 1]])) continue;
    let at = top.length === k ? k - 1 : top.length;
    while (at > 0 && values[top[at - 1]] < v) {
      top[at] = top[at - 1];
      at--;
    }
    top[at] = j;
  }
  return top;
}

/** The largest value (0 for an empty or all-zero input). */
export function maxOf(values: ArrayLike<number>): number {
  let max = 0;
  for (let j = 0; j < values.length; j++) if (values[j] > max) max = values[j];
  return max;
}
