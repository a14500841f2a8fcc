// The N² arithmetic of the status bar, pure so it is unit-tested without VS Code.

/** Compact units: 950, 12.3k, 1.5M, 16.4B, 2.1T. */
export function compact(value: number): string {
  const abs = Math.abs(value);
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of units) {
    if (abs >= size) {
      const v = value / size;
      return `${v >= 100 ? Math.round(v) : Number(v.toFixed(1))}${suffix}`;
    }
  }
  return String(Math.round(value));
}

/** Bytes as KiB / MiB / GiB (one formatter for every side: src/protocol/format.ts). */
export { formatBytes as bytes } from '../protocol/format';

/** What attention over N tokens costs in a model of the given shape. */
export interface AttentionCost {
  n: number;
  perHeadPerLayer: number;
  perForwardPass: number;
  flops: number;
  mapBytes: number;
  windows: number;
  fits: boolean;
}

/** N² per head per layer, × heads × layers, FLOPs of Q·Kᵀ and A·V (2·N²·d each per layer), bytes of all maps. */
export function attentionCost(
  n: number,
  shape: { heads: number[]; hiddenSize: number; maxPositions: number },
): AttentionCost {
  const perHeadPerLayer = n * n;
  const totalHeads = shape.heads.reduce((a, b) => a + b, 0);
  return {
    n,
    perHeadPerLayer,
    perForwardPass: perHeadPerLayer * totalHeads,
    flops: 2 * 2 * n * n * shape.hiddenSize * shape.heads.length,
    mapBytes: perHeadPerLayer * totalHeads * 4,
    windows: shape.maxPositions > 0 ? Math.max(1, Math.ceil(n / shape.maxPositions)) : 1,
    fits: n <= shape.maxPositions,
  };
}

/** The status-bar text: `N tok · N² = X`, with `≈` for an estimate. */
export function statusText(n: number, estimate: boolean): string {
  const approx = estimate ? '≈' : '';
  return `${approx}${compact(n)} tok · N² = ${approx}${compact(n * n)}`;
}

/** The lesson's ladder of context sizes. */
export const LADDER = [100, 1_000, 10_000, 128_000];
