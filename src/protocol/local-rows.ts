// Exact rows of a long analysis from one layer's operands (LayerOperandsReply): the panel computes the row under
// the pointer itself instead of a round trip per hover. In code-server a round trip measured 33–280 ms of messages
// (webview → host → engine and back) for 5 ms of engine work; this computation takes a few ms at N = 4,096.
// The engine runs the same function on sample rows against its own before it hands the operands out.
import type { RowRecipe, RowStep } from './messages';

/** One layer's operands as typed arrays. */
export interface LayerOperands {
  heads: number;
  keyHeads: number;
  n: number;
  dim: number;
  recipe: RowRecipe;
  /** heads × N × dim. */
  q: Float32Array;
  /** keyHeads × N × dim: each key a row. */
  k: Float32Array;
}

function apply(step: RowStep, v: number): number {
  switch (step.op) {
    case 'mul':
      return v * step.value;
    case 'div':
      return v / step.value;
    case 'add':
      return v + step.value;
    case 'sub':
      return v - step.value;
    case 'rdiv':
      return step.value / v;
    case 'rsub':
      return step.value - v;
    case 'tanh':
      return Math.tanh(v);
  }
}

/** The keys row i reads: [from, to]. */
export function keyRange(recipe: RowRecipe, n: number, i: number): { from: number; to: number } {
  return {
    from: recipe.window > 0 ? Math.max(0, i - recipe.window + 1) : 0,
    to: recipe.causal ? i : n - 1,
  };
}

/** Rows computed together: each key is read once for all of them (a tile at N = 4,096: 27 ms against 65 ms one by one). */
const BLOCK = 4;

/**
 * Scores of queries [i0, i0 + count) (count ≤ BLOCK) of head h against keys [from, from + len), into s[r][0 … len).
 * Keys are rows of `dim` values, so each score is one running sum in a register.
 */
function scores(op: LayerOperands, h: number, i0: number, count: number, from: number, len: number, s: Float64Array[]) {
  const { heads, keyHeads, n, dim, q, k } = op;
  const kHead = Math.floor(h / (heads / keyHeads)) * n;
  const qAt = (r: number) => (h * n + i0 + Math.min(r, count - 1)) * dim;
  const q0 = qAt(0);
  const q1 = qAt(1);
  const q2 = qAt(2);
  const q3 = qAt(3);
  const [s0, s1, s2, s3] = s;
  if (count === 1) {
    for (let j = 0; j < len; j++) {
      const kAt = (kHead + from + j) * dim;
      let a0 = 0;
      for (let t = 0; t < dim; t++) a0 += q[q0 + t] * k[kAt + t];
      s0[j] = a0;
    }
    return;
  }
  for (let j = 0; j < len; j++) {
    const kAt = (kHead + from + j) * dim;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let t = 0; t < dim; t++) {
      const kv = k[kAt + t];
      a0 += q[q0 + t] * kv;
      a1 += q[q1 + t] * kv;
      a2 += q[q2 + t] * kv;
      a3 += q[q3 + t] * kv;
    }
    s0[j] = a0;
    s1[j] = a1;
    s2[j] = a2;
    s3[j] = a3;
  }
}

/** Turns scores s[a … b] into exp(z − max) by the recipe's steps; returns their sum (the Softmax's divisor). */
function softmaxInPlace(recipe: RowRecipe, s: Float64Array, a: number, b: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = a; j <= b; j++) {
    let v = s[j];
    for (const step of recipe.steps) v = apply(step, v);
    s[j] = v;
    if (v > max) max = v;
  }
  let sum = 0;
  for (let j = a; j <= b; j++) {
    s[j] = Math.exp(s[j] - max);
    sum += s[j];
  }
  return sum;
}

/** Query i's exact row in every head: heads × N, head-major (keys the mask hides are 0). */
export function localRows(op: LayerOperands, i: number): Float32Array {
  const { heads, n, recipe } = op;
  const out = new Float32Array(heads * n);
  const { from, to } = keyRange(recipe, n, i);
  // One query: only the first score array is written.
  const s = [new Float64Array(to - from + 1)];
  for (let h = 0; h < heads; h++) {
    scores(op, h, i, 1, from, to - from + 1, s);
    const sum = softmaxInPlace(recipe, s[0], 0, to - from);
    for (let j = from; j <= to; j++) out[h * n + j] = s[0][j - from] / sum;
  }
  return out;
}

/** One head's exact tile: queries [row, row + rows) × keys [col, col + cols), clipped to N, row-major. */
export function localTile(
  op: LayerOperands,
  head: number,
  row: number,
  col: number,
  size: number,
): { rows: number; cols: number; data: Float32Array } {
  const { n, recipe } = op;
  const rows = Math.min(size, n - row);
  const cols = Math.min(size, n - col);
  const data = new Float32Array(rows * cols);
  const s = Array.from({ length: BLOCK }, () => new Float64Array(n));
  for (let b = 0; b < rows; b += BLOCK) {
    const count = Math.min(BLOCK, rows - b);
    const ranges = Array.from({ length: count }, (_, r) => keyRange(recipe, n, row + b + r));
    // The block's rows are scored over the union of their keys; each keeps its own range.
    const from = Math.min(...ranges.map((r) => r.from));
    scores(op, head, row + b, count, from, Math.max(...ranges.map((r) => r.to)) - from + 1, s);
    for (let r = 0; r < count; r++) {
      const { from: f, to } = ranges[r];
      const sum = softmaxInPlace(recipe, s[r], f - from, to - from);
      // Each row's weights need all its keys (the Softmax's sum); only the tile's columns are kept.
      const out = (b + r) * cols - col;
      for (let j = Math.max(f, col); j <= Math.min(to, col + cols - 1); j++) data[out + j] = s[r][j - from] / sum;
    }
  }
  return { rows, cols, data };
}
