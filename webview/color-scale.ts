// A perceptually uniform, colour-blind-safe sequential scale (viridis) and per-head colours.
const STOPS: [number, number, number][] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** RGB of a value in [0, 1]. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i];
  const b = STOPS[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f].map(Math.round) as [
    number,
    number,
    number,
  ];
}

/** viridis at 256 levels, RGB interleaved: the heatmap's per-cell lookup (a function call per cell costs ~4× more at N = 512). */
export const VIRIDIS_LUT: Uint8Array = (() => {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) lut.set(viridis(i / 255), i * 3);
  return lut;
})();

// Okabe-Ito (colour-blind safe) for up to 8 heads; beyond that Paul Tol's "muted" + "light" sets extend it.
const HEAD_RGB: [number, number, number][] = [
  [230, 159, 0],
  [86, 180, 233],
  [0, 158, 115],
  [240, 228, 66],
  [0, 114, 178],
  [213, 94, 0],
  [204, 121, 167],
  [153, 153, 153],
  [51, 34, 136],
  [136, 204, 238],
  [68, 170, 153],
  [170, 68, 153],
  [221, 204, 119],
  [136, 34, 85],
  [187, 204, 51],
  [255, 170, 187],
];

/** The colour of head `k` in the "all heads" view (cycles after 16 heads). */
export function headColour(k: number): [number, number, number] {
  return HEAD_RGB[k % HEAD_RGB.length];
}
