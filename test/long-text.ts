// A long, source-file-like text for the long-input tests (issue 17; scripts/harness/long-source.mjs is the same
// for the UI test and the benchmark): numbered functions with comments, words from the
// lesson's first example, so token counts grow steadily (about 30 tokens a line with the GPT-2 vocabulary).
export function longSource(lines: number): string {
  const words = ['animal', 'street', 'because', 'tired', 'wide', 'cross', 'it', 'was', 'too'];
  return Array.from(
    { length: lines },
    (_, i) =>
      `function step${i}(value) { return value * ${(i % 7) + 2} + ${i}; } // the ${words[i % 9]} ${words[(i * 5) % 9]}, line ${i}`,
  ).join('\n');
}
