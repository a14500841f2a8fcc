// The status-bar item: N tokens of the selection or document and the N² attention cost, counted off-thread.
import * as vscode from 'vscode';
import { Disposable } from './disposable';
import { LADDER, attentionCost, bytes, compact, statusText } from './cost';
import type { EngineClient } from './engine-client';
import { engineOptions, readSettings, workspaceModelOverride } from './settings';
import type { ShowAttention } from './show-attention';

/** The command the item runs on click. */
export const STATUS_BAR_COMMAND = 'attentionLens.statusBarClick';

/** What the item shows, for tests and benchmarks. */
export interface StatusBarState {
  text: string | undefined;
  n: number | undefined;
  exact: boolean;
  scope: 'selection' | 'document' | undefined;
  /** The document version the figure belongs to. */
  version: number | undefined;
}

/** Delay after the last edit before recounting: short for small documents, longer for big ones (their count costs more). */
const DEBOUNCE_MS = 80;
const DEBOUNCE_BIG_MS = 250;
const BIG_CHARS = 200_000;
/** Above this many characters the item first shows an estimate (chars/4) before the exact count arrives. */
const ESTIMATE_ABOVE_CHARS = 20_000;
/**
 * Above this many characters only the estimate is shown and an exact count runs on request (the tooltip's link):
 * counting 12 MB took 3.5 s per edit and 10 MB of one emoji line 24 s and 2.8 GB.
 */
export const EXACT_COUNT_MAX_CHARS = 2_000_000;

/** The command behind the tooltip's "count exactly" link. */
export const COUNT_EXACTLY_COMMAND = 'attentionLens.countExactly';

/** A disposable status-bar item that shows the attention cost of the active editor's text. */
export class AttentionStatusBar extends Disposable {
  private readonly item = vscode.window.createStatusBarItem('attentionLens.cost', vscode.StatusBarAlignment.Right, 100);
  private timer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;
  private readonly cache = new Map<string, number>();
  /** The model shape from the last exact count, for the tooltip's totals. */
  private shape:
    | { heads: number[]; hiddenSize: number; maxPositions: number; layers: number; encoderDecoder?: boolean }
    | undefined;
  private current: StatusBarState = {
    text: undefined,
    n: undefined,
    exact: false,
    scope: undefined,
    version: undefined,
  };
  /** The model the cached counts and shape belong to; a different one means its tokenizer is loading. */
  private countedModel: string | undefined;
  /** The document version the user asked to count exactly although it is over EXACT_COUNT_MAX_CHARS. */
  private exactRequested: string | undefined;

  constructor(private readonly client: EngineClient) {
    super();
    this.item.name = 'Attention Lens: attention cost';
    this.item.command = STATUS_BAR_COMMAND;
    this.register(
      this.item,
      vscode.window.onDidChangeActiveTextEditor(() => this.schedule(0)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.schedule(this.debounceFor(e.textEditor.document))),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === vscode.window.activeTextEditor?.document) this.schedule(this.debounceFor(e.document));
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('attentionLens')) {
          this.cache.clear();
          this.schedule(0);
        }
      }),
      // An untitled document's URI (Untitled-1) and version are reused by the next new document: forget closed ones.
      vscode.workspace.onDidCloseTextDocument((doc) => {
        const uri = doc.uri.toString();
        for (const key of [...this.cache.keys()]) if (key.split('|')[1] === uri) this.cache.delete(key);
      }),
    );
    this.schedule(0);
  }

  /** The item's current text (undefined while hidden). */
  get text(): string | undefined {
    return this.visible ? this.item.text : undefined;
  }

  /** The tooltip's text (markdown source), for tests. */
  get tooltip(): string {
    const t = this.item.tooltip;
    return typeof t === 'string' ? t : (t?.value ?? '');
  }

  /** The figure on display and what it belongs to. */
  get state(): StatusBarState {
    return { ...this.current, text: this.text };
  }

  /** The cost of the current text in one sentence, with the lesson's ladder (walkthrough). */
  explain(analysed?: { n: number; heads: number[] }): string {
    // The panel's analysis (the walkthrough's sentence, its model's real heads) beats the active editor's count:
    // the walkthrough's Welcome page is not a text editor, so the status bar has nothing of its own then.
    const loadedHeads = analysed?.heads;
    const n = analysed?.n ?? this.current.n;
    const scope = analysed ? 'text' : (this.current.scope ?? 'text');
    const ladder =
      'At 100 tokens that is 10,000 scores; at 1,000, 1 million; at 128,000, 16.4 billion — per head, per layer.';
    if (n === undefined)
      return `Attention compares every token with every other: N tokens cost N² scores per head per layer. ${ladder}`;
    // The loaded model's heads (learnt by running it) beat the config's: a config may not name its heads ("× 0 heads").
    const heads = loadedHeads ?? this.shape?.heads;
    const sum = heads?.reduce((a, b) => a + b, 0) ?? 0;
    const total =
      heads && sum > 0
        ? ` × ${sum} heads over ${heads.length} layers = ${compact(n * n * sum)} for one forward pass`
        : '';
    return `This ${scope} is ${n.toLocaleString()} tokens, so attention computes N² = ${(n * n).toLocaleString()} scores per head per layer${total}. ${ladder}`;
  }

  /** Click: Show Attention on the selection; without one, the whole document, or a choice of part when it is too long. */
  async click(show: ShowAttention): Promise<unknown> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return undefined;
    if (!editor.selection.isEmpty) return show.execute();
    // The item shows the document's cost, so a click analyses the document: all of it when it fits the model, else
    // the window the model can read around the cursor (the panel says which characters).
    return show.execute({ wholeFile: true });
  }

  /** Counts the current document (or selection) exactly once, even above EXACT_COUNT_MAX_CHARS. */
  countExactly(): void {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc) return;
    this.exactRequested = `${doc.uri.toString()}|${doc.version}`;
    this.schedule(0);
  }

  private visible = false;

  private debounceFor(doc: vscode.TextDocument): number {
    // offsetAt of the end is O(1) on the host's line index, unlike getText().
    return doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end) > BIG_CHARS ? DEBOUNCE_BIG_MS : DEBOUNCE_MS;
  }

  private schedule(delay: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.update(), delay);
  }

  private async update(): Promise<void> {
    const settings = readSettings();
    const editor = vscode.window.activeTextEditor;
    if (!settings.statusBar || !editor) {
      // A count still in flight belongs to an editor that is gone: it must not show when it lands.
      this.generation++;
      this.hide();
      return;
    }
    if (this.countedModel !== settings.model) {
      // A new model: its tokenizer (and config) load in the worker first; say so instead of a stale figure.
      this.item.text = '$(loading~spin) Attention: loading tokenizer…';
      this.item.tooltip = `Attention Lens is loading the tokenizer of ${settings.model} to count tokens.`;
      this.current = { text: undefined, n: undefined, exact: false, scope: undefined, version: undefined };
      this.show();
    }
    const doc = editor.document;
    const selection = editor.selection.isEmpty ? undefined : editor.selection;
    const scope = selection ? 'selection' : 'document';
    // A closed untitled document's URI and version come back with the next new one (and its close event can come
    // late): its length and first line, both O(1) to read, keep a new document from reusing the old count.
    const length = doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end);
    const shape = `${length}:${doc.lineAt(0).text.slice(0, 80)}`;
    const where = selection ? `${doc.offsetAt(selection.start)}-${doc.offsetAt(selection.end)}` : 'all';
    const key = `${settings.model}|${doc.uri.toString()}|${doc.version}|${shape}|${where}`;
    const gen = ++this.generation;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      this.render(cached, false, scope, undefined, doc.version);
      return;
    }
    // Only a miss copies the text (a cursor move in a 1 MiB document must not).
    const text = selection ? doc.getText(selection) : doc.getText();
    if (text.length > EXACT_COUNT_MAX_CHARS && this.exactRequested !== `${doc.uri.toString()}|${doc.version}`) {
      this.render(Math.ceil(text.length / 4), true, scope, undefined, doc.version, true);
      return;
    }
    if (text.length > ESTIMATE_ABOVE_CHARS)
      this.render(Math.ceil(text.length / 4), true, scope, undefined, doc.version);
    try {
      const counted = await this.client.call('countTokens', { ...engineOptions(settings), text });
      // Only the newest request, and only for the document still in front, is shown (a closed document's count
      // used to land after a new document opened and stay on screen).
      if (gen !== this.generation || vscode.window.activeTextEditor?.document !== doc) return;
      this.countedModel = settings.model;
      this.cache.set(key, counted.count);
      if (this.cache.size > 50) this.cache.delete(this.cache.keys().next().value as string);
      this.render(counted.count, false, scope, counted, doc.version);
    } catch (error) {
      if (gen !== this.generation) return;
      this.item.text = '$(warning) Attention: no tokenizer';
      this.item.tooltip = `Attention Lens could not load the tokenizer of ${settings.model}: ${(error as Error).message}`;
      this.show();
    }
  }

  private render(
    n: number,
    estimate: boolean,
    scope: 'selection' | 'document',
    shape:
      | { heads: number[]; hiddenSize: number; maxPositions: number; layers: number; encoderDecoder?: boolean }
      | undefined,
    version: number,
    onRequest = false,
  ): void {
    if (shape) this.shape = shape;
    this.current = { text: undefined, n, exact: !estimate, scope, version };
    this.item.text = `$(symbol-numeric) ${statusText(n, estimate)}`;
    const s = this.shape;
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = { enabledCommands: [COUNT_EXACTLY_COMMAND] };
    md.appendMarkdown(
      `**Attention cost of this ${scope}**${estimate ? (onRequest ? ' (estimate)' : ' (estimate, counting…)') : ''}\n\n`,
    );
    if (onRequest) {
      md.appendMarkdown(
        `This ${scope} is over ${EXACT_COUNT_MAX_CHARS.toLocaleString()} characters, so tokens are estimated (characters ÷ 4) instead of counted after every edit. [Count exactly](command:${COUNT_EXACTLY_COMMAND})\n\n`,
      );
    }
    const override = workspaceModelOverride();
    if (override)
      md.appendMarkdown(
        `Model **${override.workspace}** is set by this workspace and overrides your own choice${override.user ? ` (${override.user})` : ''}.\n\n`,
      );
    md.appendMarkdown(
      `- N = **${n.toLocaleString()}** tokens\n- N² = **${(n * n).toLocaleString()}** attention scores per head per layer\n`,
    );
    if (s && s.heads.length > 0) {
      const c = attentionCost(n, s);
      md.appendMarkdown(
        `- × ${s.heads.reduce((a, b) => a + b, 0)} heads over ${s.heads.length} layers = **${compact(c.perForwardPass)}** scores per forward pass\n`,
      );
      md.appendMarkdown(
        s.hiddenSize > 0
          ? `- ≈ ${compact(c.flops)} FLOPs for Q·Kᵀ and attention·V (2·N²·d each per layer, d = ${s.hiddenSize})\n`
          : "- FLOPs unknown: the model's config.json does not give its hidden size d\n",
      );
      md.appendMarkdown(`- ${bytes(c.mapBytes)} to hold every attention map (L·H·N²·4 bytes)\n`);
      md.appendMarkdown(
        `- context length ${s.maxPositions.toLocaleString()}: ${c.fits ? 'fits' : `does not fit — ${c.windows} windows`}\n\n`,
      );
    }
    if (s?.encoderDecoder) {
      // A translation: the source is read by the encoder, the output by the decoder, which also reads the source.
      md.appendMarkdown(
        `**An encoder–decoder** reads this ${scope} as the source (N_src = ${n.toLocaleString()}) and pays per head per layer:\n` +
          `- encoder self-attention N_src² = **${(n * n).toLocaleString()}**\n` +
          `- decoder self-attention N_tgt² — **${(n * n).toLocaleString()}** for an output as long as the source\n` +
          `- cross-attention N_tgt · N_src — **${(n * n).toLocaleString()}** then; it grows with the output, not its square\n\n`,
      );
    }
    md.appendMarkdown('| tokens | N² per head per layer |\n|---:|---:|\n');
    const rows = [...LADDER.map((v) => ({ v, here: false })), { v: n, here: true }].sort((a, b) => a.v - b.v);
    for (const r of rows)
      md.appendMarkdown(
        `| ${r.here ? `**${r.v.toLocaleString()} (this ${scope})**` : r.v.toLocaleString()} | ${r.here ? `**${compact(r.v * r.v)}**` : compact(r.v * r.v)} |\n`,
      );
    md.appendMarkdown(
      scope === 'selection'
        ? '\nClick to show attention for the selection.'
        : s && n > s.maxPositions
          ? '\nClick to analyse a part of this document.'
          : '\nClick to show attention for this document.',
    );
    // Screen readers get a sentence, not the tooltip's markdown.
    this.item.accessibilityInformation = {
      label: `Attention cost of this ${scope}: ${estimate ? 'about ' : ''}${n.toLocaleString()} tokens, ${(n * n).toLocaleString()} attention scores per head per layer`,
    };
    this.item.tooltip = md;
    this.show();
  }

  private show(): void {
    this.visible = true;
    this.item.show();
  }

  private hide(): void {
    this.visible = false;
    this.item.hide();
  }

  override dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    super.dispose();
  }
}
