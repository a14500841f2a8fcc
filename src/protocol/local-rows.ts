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
  /** keyHeads × dim × N. */
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

/** Query i's exact row in every head: heads × N, head-major (keys the mask hides are 0). */
export function localRows(op: LayerOperands, i: number): Float32Array {
  const { heads, keyHeads, n, dim, recipe, q, k } = op;
  const out = new Float32Array(heads * n);
  const { from, to } = keyRange(recipe, n, i);
  const s = new Float64Array(to - from + 1);
  const group = heads / keyHeads;
  for (let h = 0; h < heads; h++) {
    s.fill(0);
    const qAt = (h * n + i) * dim;
    const kHead = Math.floor(h / group) * dim;
    // Keys are columns (dim × N): the inner loop runs along contiguous memory.
    for (let t = 0; t < dim; t++) {
      const qt = q[qAt + t];
      const kAt = (kHead + t) * n + from;
      for (let j = 0; j < s.length; j++) s[j] += qt * k[kAt + j];
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < s.length; j++) {
      let v = s[j];
      for (const step of recipe.steps) v = apply(step, v);
      s[j] = v;
      if (v > max) max = v;
    }
    let sum = 0;
    for (let j = 0; j < s.length; j++) {
      s[j] = Math.exp(s[j] - max);
      sum += s[j];
    }
    for (let j = 0; j < s.length; j++) out[h * n + from + j] = s[j] / sum;
  }
  return out;
}
