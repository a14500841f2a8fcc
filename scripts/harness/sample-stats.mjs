// Median, min and max of a sample of timings (one decimal), for the benchmarks that drive the real VS Code.

/** { median, min, max, runs } of `a`. */
export function sampleStats(a) {
  const s = [...a].sort((x, y) => x - y);
  return {
    median: +s[Math.floor(s.length / 2)].toFixed(1),
    min: +s[0].toFixed(1),
    max: +s.at(-1).toFixed(1),
    runs: s.length,
  };
}
