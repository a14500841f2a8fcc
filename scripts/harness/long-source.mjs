// A long, source-file-like text for the long-input UI test and benchmark (the same shape as test/long-text.ts):
// numbered functions with comments, about 23 tokens a line with the GPT-2 vocabulary.

/** `lines` lines of code-like text. */
export function longSource(lines) {
  const words = ['animal', 'street', 'because', 'tired', 'wide', 'cross', 'it', 'was', 'too'];
  return Array.from(
    { length: lines },
    (_, i) =>
      `function step${i}(value) { return value * ${(i % 7) + 2} + ${i}; } // the ${words[i % 9]} ${words[(i * 5) % 9]}, line ${i}`,
  ).join('\n');
}
