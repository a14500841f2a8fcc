// Wording shared by every side (engine, host, webview, CLI), so one figure reads the same everywhere.
import type { AnalysisSummary } from './messages';

/** Bytes in binary units: B, KiB, MiB, GiB, TiB (2²⁰ bytes is a MiB, never an "MB"). */
export function formatBytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = value;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** The sentence that says which part of a long text an analysis shows (panel, notification, CLI). */
export function truncationNote(
  s: Pick<AnalysisSummary, 'n' | 'analysedFrom' | 'analysedChars' | 'totalChars'>,
): string {
  const part =
    s.analysedFrom > 0
      ? `characters ${(s.analysedFrom + 1).toLocaleString('en-US')}–${s.analysedChars.toLocaleString('en-US')} (around the cursor)`
      : `the first ${s.analysedChars.toLocaleString('en-US')}`;
  return `The text is longer than the ${s.n} tokens analysed at once: showing ${part} of ${s.totalChars.toLocaleString('en-US')} characters.`;
}

/** The text a continuation adds: its tokens joined, cut before the stop sequence that ended it (if one did). */
export function continuationText(g: { generated: { text: string }[]; stopSequence?: string }): string {
  const text = g.generated.map((t) => t.text).join('');
  const at = g.stopSequence ? text.indexOf(g.stopSequence) : -1;
  return at >= 0 ? text.slice(0, at) : text;
}
