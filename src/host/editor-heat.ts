// Heat in the editor: while the panel has a focus token, the analysed source text gets a background on each
// token shaded by its weight; moving the editor cursor onto an analysed token focuses it in the panel.
// Offsets are the engine's; once the document changes the mapping is dropped (and the panel says so)
// rather than highlighting the wrong text.
import * as vscode from 'vscode';
import type { AnalysisSummary } from '../protocol/messages';
import { Disposable } from './disposable';

/** Where an analysis came from in the editor. */
export interface AnalysisSource {
  uri: vscode.Uri;
  version: number;
  /** Document offset of the analysed text's first character. */
  baseOffset: number;
}

const LEVELS = 6;

const STALE_TEXT =
  'The text changed since this analysis, so the editor is no longer highlighted. Run Show Attention again to refresh.';

/** What the heat looks like now, for tests: document offset ranges per shade level, and whether it is stale. */
export interface HeatState {
  ranges: { start: number; end: number; level: number }[];
  focus: { start: number; end: number } | undefined;
  stale: boolean;
}

/** Decorations for one analysis at a time. */
export class EditorHeat extends Disposable {
  // One decoration type per shade: the API has no per-range opacity. Sky blue reads on light, dark and high contrast.
  private readonly levels = Array.from({ length: LEVELS }, (_, k) =>
    vscode.window.createTextEditorDecorationType({
      backgroundColor: `rgba(86, 180, 233, ${(((k + 1) / LEVELS) * 0.6).toFixed(2)})`,
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    }),
  );
  private readonly focusType = vscode.window.createTextEditorDecorationType({
    border: '1px solid',
    borderColor: new vscode.ThemeColor('focusBorder'),
    borderRadius: '2px',
  });
  private source: AnalysisSource | undefined;
  private summary: AnalysisSummary | undefined;
  private current: HeatState = { ranges: [], focus: undefined, stale: false };

  /** `onStale` hears why the editor is not highlighted (the text changed, or tokens could not be placed). */
  constructor(
    private readonly onStale: (why: string) => void,
    private readonly onCursorToken: (index: number) => void,
  ) {
    super();
    this.register(...this.levels, this.focusType);
    this.register(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (
          !this.source ||
          e.document.uri.toString() !== this.source.uri.toString() ||
          e.contentChanges.length === 0 ||
          this.current.stale
        )
          return;
        this.clear();
        this.current.stale = true;
        this.onStale(STALE_TEXT);
      }),
      // A long analysis decorates only what is on screen, so scrolling brings the heat along.
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => {
        if (this.summary?.long && this.last && e.textEditor === this.editor()) this.show(...this.last);
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        const index = this.tokenAt(e.textEditor.document, e.textEditor.document.offsetAt(e.selections[0].active));
        if (index !== undefined) this.onCursorToken(index);
      }),
    );
  }

  /** A new analysis: forget the old mapping. */
  attach(source: AnalysisSource | undefined, summary: AnalysisSummary): void {
    this.clear();
    this.source = source;
    this.summary = summary;
    // Edited while the analysis ran: the offsets no longer point at the right text.
    const doc = source && vscode.workspace.textDocuments.find((d) => d.uri.toString() === source.uri.toString());
    const edited = !!doc && doc.version !== source?.version;
    // A token the engine could not place in the text would shade the wrong characters: no heat at all then.
    // Generated tokens have no place in the source by design: the heat covers the prompt.
    const unplaced = summary.tokens.filter(
      (t) => !t.special && !t.generated && (t.start === null || t.end === null),
    ).length;
    this.current = { ranges: [], focus: undefined, stale: edited || unplaced > 0 };
    if (edited) this.onStale(STALE_TEXT);
    else if (unplaced > 0) {
      this.onStale(
        `${unplaced} of the ${summary.n} tokens could not be placed in the source text, so the editor is not highlighted.`,
      );
    }
  }

  /** The last focus shown, redrawn when a long analysis's editor scrolls. */
  private last: [number | null, number[] | undefined] | undefined;

  /**
   * Shades each token of the source by `weights` (one per token) and outlines the focus token; null clears. For a
   * long analysis (thousands of tokens) only the tokens in the editor's visible ranges are decorated.
   */
  show(index: number | null, weights: number[] | undefined): void {
    const editor = this.editor();
    if (!editor || !this.summary || this.current.stale) return;
    if (index === null || !weights) {
      this.last = undefined;
      this.clear();
      return;
    }
    this.last = [index, weights];
    const base = this.source!.baseOffset;
    const visible = this.summary.long
      ? editor.visibleRanges.map((r) => [editor.document.offsetAt(r.start), editor.document.offsetAt(r.end)])
      : undefined;
    const onScreen = (start: number, end: number) => !visible || visible.some(([a, b]) => end >= a && start <= b);
    // Relative to the largest weight on text in the editor: special tokens ([CLS]…) have no place there.
    const max = Math.max(...this.summary.tokens.map((t, i) => (t.start === null ? 0 : (weights[i] ?? 0))), 1e-12);
    const buckets: vscode.Range[][] = this.levels.map(() => []);
    const ranges: HeatState['ranges'] = [];
    this.summary.tokens.forEach((t, i) => {
      if (t.start === null || t.end === null || !(weights[i] > 0) || !onScreen(base + t.start, base + t.end)) return;
      const level = Math.min(LEVELS - 1, Math.floor((weights[i] / max) * LEVELS));
      if (weights[i] / max < 0.05) return;
      buckets[level].push(
        new vscode.Range(editor.document.positionAt(base + t.start), editor.document.positionAt(base + t.end)),
      );
      ranges.push({ start: base + t.start, end: base + t.end, level });
    });
    for (const [k, type] of this.levels.entries()) editor.setDecorations(type, buckets[k]);
    const f = this.summary.tokens[index];
    const focus = f?.start !== null && f?.end !== null && f ? { start: base + f.start, end: base + f.end } : undefined;
    editor.setDecorations(
      this.focusType,
      focus ? [new vscode.Range(editor.document.positionAt(focus.start), editor.document.positionAt(focus.end))] : [],
    );
    this.current = { ranges, focus, stale: false };
  }

  /** The current heat, for tests. */
  get state(): HeatState {
    return this.current;
  }

  /** Removes every decoration. */
  clear(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      for (const type of [...this.levels, this.focusType]) editor.setDecorations(type, []);
    }
    this.current = { ranges: [], focus: undefined, stale: this.current.stale };
  }

  private editor(): vscode.TextEditor | undefined {
    const uri = this.source?.uri.toString();
    return uri ? vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri) : undefined;
  }

  /** The analysed token under a document offset, while the mapping is valid. */
  private tokenAt(doc: vscode.TextDocument, offset: number): number | undefined {
    if (
      !this.source ||
      !this.summary ||
      this.current.stale ||
      doc.uri.toString() !== this.source.uri.toString() ||
      doc.version !== this.source.version
    )
      return undefined;
    const rel = offset - this.source.baseOffset;
    const i = this.summary.tokens.findIndex((t) => t.start !== null && t.end !== null && rel >= t.start && rel < t.end);
    return i >= 0 ? i : undefined;
  }

  override dispose(): void {
    this.clear();
    super.dispose();
  }
}
