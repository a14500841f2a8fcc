// Summary statistics the benchmark scripts print.

/** Median, min and max of a sample. */
export function stats(a: number[]) {
  const s = [...a].sort((x, y) => x - y);
  return {
    median: +s[Math.floor(s.length / 2)].toFixed(2),
    min: +s[0].toFixed(2),
    max: +s.at(-1)!.toFixed(2),
    runs: s.length,
  };
}
