// The JSON shape of exported attention, shared by the CLI and the panel's export so both write the same thing.
import type { AnalysisSummary, ModelInfo } from './messages';

/** Rounds to float32's meaningful digits so the JSON stays readable. */
export function round(v: number): number {
  return Number(v.toPrecision(7));
}

/** A row-major float32 buffer as N rows of N numbers. */
export function matrixRows(buffer: ArrayBuffer, n: number): number[][] {
  const a = new Float32Array(buffer);
  return Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n), round));
}

/** The model part of the JSON. */
export function modelJson(m: ModelInfo) {
  return { id: m.id, kind: m.kind, layers: m.layers, heads: m.heads, maxPositions: m.maxPositions };
}

/** Approximate size of the JSON for `matrices` N×N matrices (≈ 11 characters per number), for "size before writing". */
export function estimateJsonBytes(s: AnalysisSummary, matrices: number): number {
  return matrices * s.n * s.n * 11 + s.tokens.length * 80 + 500;
}
