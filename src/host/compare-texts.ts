// Compare Two Texts: the lesson's point as data. "The trophy didn't fit in the suitcase because it was too big" vs
// "…too small": "it" means the trophy in one and the suitcase in the other. Every head is ranked by how much its
// attention from "it" to the two candidates flips between the texts.
import * as vscode from 'vscode';
import type { AnalysisSummary, FlipScore, TokenInfo } from '../protocol/messages';
import { AttentionPanel } from './attention-panel';
import type { EngineClient } from './engine-client';
import { withHostHint } from './error-hints';
import { analyzeOptions, readSettings } from './settings';

/** The lesson's pair: one word changes what "it" refers to. */
export const LESSON_PAIR: [string, string] = [
  "The trophy didn't fit in the suitcase because it was too big.",
  "The trophy didn't fit in the suitcase because it was too small.",
];

/** What the command may be given instead of asking (tests, other extensions). */
export interface CompareArgs {
  texts?: [string, string];
  /** The word whose attention is compared (default "it" when both texts have it). */
  query?: string;
  /** The two candidates it chooses between. */
  keys?: [string, string];
}

/** The result: both analyses and the heads ranked by |flip score|. */
export interface Comparison {
  a: AnalysisSummary;
  b: AnalysisSummary;
  heads: FlipScore[];
}

/** A token's word: its text without word markers, lowercased. */
function word(t: TokenInfo): string {
  return t.text
    .replace(/^(Ġ|##|▁)/, '')
    .trim()
    .toLowerCase();
}

/** The index of the first non-special token that is `w`, or -1. */
export function findWord(tokens: TokenInfo[], w: string): number {
  const want = w.trim().toLowerCase();
  return tokens.findIndex((t) => !t.special && word(t) === want);
}

/** Runs Compare Two Texts; resolves to the comparison shown, or undefined when the user stopped. */
export async function compareTexts(
  extensionUri: vscode.Uri,
  client: EngineClient,
  args: CompareArgs = {},
): Promise<Comparison | undefined> {
  const texts = args.texts ?? (await askTexts());
  if (!texts) return undefined;
  const settings = readSettings();
  try {
    const a = await client.call('analyze', { ...analyzeOptions(settings), text: texts[0] });
    const b = await client.call('analyze', { ...analyzeOptions(settings), text: texts[1] });
    const shared = a.tokens.filter((t) => !t.special && findWord(b.tokens, word(t)) >= 0).map(word);
    const query =
      args.query ?? (shared.includes('it') ? 'it' : await pickWords(shared, 1, 'Which word’s attention?'))?.[0];
    if (!query) return undefined;
    const keys =
      args.keys ??
      ((await pickWords(
        shared.filter((w) => w !== query),
        2,
        `Which two words does "${query}" choose between?`,
      )) as [string, string] | undefined);
    if (keys?.length !== 2) return undefined;
    const pick = (s: AnalysisSummary) => {
      const [q, k1, k2] = [query, ...keys].map((w) => findWord(s.tokens, w));
      if (q < 0 || k1 < 0 || k2 < 0)
        throw new Error(`both texts must contain "${query}", "${keys[0]}" and "${keys[1]}".`);
      return { analysisId: s.analysisId, query: q, key1: k1, key2: k2 };
    };
    const { heads } = await client.call('compareHeads', { a: pick(a), b: pick(b) });
    const panel = AttentionPanel.show(extensionUri, client);
    panel.showAnalysis(a, 'Compare: text A', 'compare: text A', texts[0]);
    panel.showComparison(
      `Heads whose attention from "${query}" moves between "${keys[0]}" and "${keys[1]}" from text A to text B`,
      heads,
    );
    return { a, b, heads };
  } catch (error) {
    void vscode.window.showErrorMessage(`Attention Lens: ${withHostHint(error as { code: never; message: string })}`);
    return undefined;
  }
}

/** Two lines of the selection, or the user's two texts (the lesson's pair offered). */
async function askTexts(): Promise<[string, string] | undefined> {
  const editor = vscode.window.activeTextEditor;
  const lines = editor
    ? editor.document
        .getText(editor.selection)
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean)
    : [];
  if (lines.length >= 2) return [lines[0], lines[1]];
  const a = await vscode.window.showInputBox({ title: 'Compare two texts: text A', value: LESSON_PAIR[0] });
  if (!a) return undefined;
  const b = await vscode.window.showInputBox({
    title: 'Compare two texts: text B (change one word)',
    value: LESSON_PAIR[1],
  });
  return b ? [a, b] : undefined;
}

async function pickWords(words: string[], count: number, title: string): Promise<string[] | undefined> {
  const unique = [...new Set(words)];
  if (count === 1) {
    const one = await vscode.window.showQuickPick(unique, { title });
    return one ? [one] : undefined;
  }
  const many = await vscode.window.showQuickPick(unique, { title: `${title} (pick ${count})`, canPickMany: true });
  return many && many.length === count ? many : undefined;
}
