// The webview panel: one per window, reused by every Show Attention run, restored after a reload.
import * as vscode from 'vscode';
import type {
  LiveRowsEvent,
  Seq2SeqReply,
  AnalysisReply,
  AnalysisSummary,
  FlipScore,
  HeadSelector,
  HostToWebview,
  PanelAction,
  PanelApi,
} from '../protocol/messages';
import { serve } from '../protocol/rpc';
import { Disposable } from './disposable';
import { EditorHeat, type AnalysisSource } from './editor-heat';
import { exportJson, exportPng, exportSeq2SeqJson, type JsonScope } from './export-view';
import type { EngineClient } from './engine-client';
import { validateFromWebview } from './validate-message';
import { webviewHtml, webviewOptions } from './webview-html';

/** The panel's view type, also used by the serializer. */
export const PANEL_VIEW_TYPE = 'attentionLens.panel';

/** The single Attention Lens panel. */
/**
 * The source side of an encoder–decoder analysis as the editor heat reads an analysis: the encoder's tokens with
 * offsets in the selected text. The task prefix the model adds ("translate English to German: ") is not in the
 * editor, so its tokens have no place there (treated like special tokens).
 */
function sourceTokensSummary(reply: Seq2SeqReply): AnalysisSummary {
  const shift = reply.prefix?.length ?? 0;
  const tokens = reply.tokens.map((t) =>
    t.start === null || t.end === null || t.end <= shift
      ? { ...t, start: null, end: null, special: true }
      : { ...t, start: Math.max(0, t.start - shift), end: t.end - shift },
  );
  return { analysisId: reply.analysisId, tokens, n: tokens.length } as AnalysisSummary;
}

export class AttentionPanel extends Disposable {
  private static current: AttentionPanel | undefined;
  private ready = false;
  private queued: HostToWebview[] = [];
  private summary: AnalysisSummary | undefined;
  private sourceLabel = '';
  /** The view the webview last asked for, so the next analysis can bring that slice along. */
  private lastView: { model: string; layer: number; head: HeadSelector } | undefined;
  /** Where exports go without asking (tests set it); undefined: the save dialog. */
  exportTarget: { uri: vscode.Uri; scope: JsonScope } | undefined;
  /** Shading of the analysed source text while the panel has a focus token. */
  readonly heat = new EditorHeat(
    (text) => this.post({ type: 'notice', text }),
    (index) => this.post({ type: 'focusFromEditor', index }),
  );

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly client: EngineClient,
  ) {
    super();
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    this.register(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m) => this.onMessage(m)),
      this.heat,
    );
  }

  /** The open panel, if any. */
  static get active(): AttentionPanel | undefined {
    return AttentionPanel.current;
  }

  /** Shows the panel (creating it beside the editor if needed). */
  static show(extensionUri: vscode.Uri, client: EngineClient, besideColumn?: vscode.ViewColumn): AttentionPanel {
    if (AttentionPanel.current) {
      // Revealing a panel already in view still relayouts the workbench: skip it.
      if (!AttentionPanel.current.panel.visible) AttentionPanel.current.panel.reveal(undefined, true);
      return AttentionPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      'Attention Lens',
      // Beside the analysed editor itself: "Beside" follows whichever group is active at that moment, which races
      // with an editor just shown (the walkthrough's sample opened from the Welcome page).
      { viewColumn: besideColumn ? besideColumn + 1 : vscode.ViewColumn.Beside, preserveFocus: true },
      webviewOptions(extensionUri),
    );
    AttentionPanel.current = new AttentionPanel(panel, extensionUri, client);
    return AttentionPanel.current;
  }

  /** Adopts a panel VS Code restored after a reload. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, client: EngineClient): AttentionPanel {
    AttentionPanel.current?.dispose();
    AttentionPanel.current = new AttentionPanel(panel, extensionUri, client);
    return AttentionPanel.current;
  }

  /** The continuation so far, while the model writes, with the newest token. */
  showGenerating(text: string, token: { text: string; index: number }): void {
    this.post({ type: 'generating', text, token });
  }

  /** The watched head's newest rows, while the model writes (the panel's matrix grows). */
  showLiveRows(live: LiveRowsEvent['live']): void {
    this.post({ type: 'liveRows', live });
  }

  /** Shows that a run is in progress. */
  showLoading(title: string, text: string): void {
    this.setTitle(title);
    this.startedAt = Date.now();
    this.post({ type: 'loading', title, text });
  }

  /** When the command now running started (Date.now() in this process; the webview compares its own at paint). */
  private startedAt: number | undefined;

  private setTitle(title: string): void {
    const next = `Attention: ${title}`;
    if (this.panel.title !== next) this.panel.title = next;
  }

  /** Shows a finished analysis; the previous one's data is released in the worker. */
  /**
   * What the panel will show first for an analysis by `model` (the webview keeps layer and head for the same
   * model). Only the slice comes along: the thumbnails (hundreds of KB) would delay the first paint, so the
   * webview asks for them after it.
   */
  firstViewFor(model: string): { layer: number; head: HeadSelector } {
    const v = this.lastView?.model === model ? this.lastView : undefined;
    return { layer: v?.layer ?? 0, head: v?.head ?? 0 };
  }

  showAnalysis(
    reply: AnalysisReply,
    title: string,
    sourceLabel: string,
    sourceText?: string,
    source?: AnalysisSource,
  ): void {
    this.seq2seq = undefined;
    const { first, ...summary } = reply;
    const previous = this.summary;
    this.summary = summary;
    if (previous && previous.analysisId !== summary.analysisId)
      void this.client.call('release', { analysisId: previous.analysisId }).catch(() => undefined);
    this.setTitle(title);
    this.sourceLabel = sourceLabel;
    this.post({
      type: 'analysis',
      summary,
      sourceLabel,
      sourceText,
      first,
      startedAt: this.startedAt,
      repliedAt: Date.now(),
    });
    this.heat.attach(source, summary);
  }

  /** Shows heads ranked by how much they flip between two texts (Compare Two Texts). */
  showComparison(title: string, heads: FlipScore[]): void {
    this.post({ type: 'comparison', title, heads });
  }

  /** Locks the panel's focus on a token (walkthrough). */
  lockToken(index: number): void {
    this.panel.reveal(undefined, true);
    this.post({ type: 'lockToken', index });
  }

  /** Moves the panel to the next head, then the next layer (walkthrough). */
  nextHead(): void {
    this.panel.reveal(undefined, true);
    this.post({ type: 'nextHead' });
  }

  /** Shows an error in the panel. */
  showError(message: string): void {
    this.post({ type: 'error', message });
  }

  /** A run for `title` failed: the panel greys what it shows (an earlier text) and offers `actions`. */
  showRunFailed(title: string, message: string, actions: PanelAction[]): void {
    this.setTitle(title);
    this.post({ type: 'runFailed', title, message, actions });
  }

  /** Runs the panel's error-box buttons (set by the command that showed the error). */
  onAction: ((action: PanelAction) => void) | undefined;

  /** The analysis on display. */
  get shown(): AnalysisSummary | undefined {
    return this.summary;
  }

  /** The last message sent (or queued) to the webview; for tests. */
  lastPosted: HostToWebview | undefined;

  private post(message: HostToWebview): void {
    this.lastPosted = message;
    if (!this.ready) {
      // Only the latest state matters before the webview is ready.
      const replaces = 'type' in message && (message.type === 'analysis' || message.type === 'loading');
      this.queued = replaces ? [message] : [...this.queued, message];
      return;
    }
    void this.panel.webview.postMessage(message);
  }

  /** Handles a message as if the webview had sent it (validated the same way); for tests. */
  receive(raw: unknown): Promise<void> {
    return this.onMessage(raw);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = validateFromWebview(raw, this.summary, this.seq2seq);
    if (!m) return;
    if ('kind' in m) {
      // A request of the panel API, already checked against the analysis on display: the engine answers it.
      const { reply } = await serve<PanelApi>(this.panelApi, m);
      this.post(reply);
      return;
    }
    if (m.type === 'ready') {
      this.ready = true;
      for (const q of this.queued) void this.panel.webview.postMessage(q);
      this.queued = [];
      return;
    }
    if (m.type === 'focusToken') {
      this.heat.show(m.index, m.weights);
      return;
    }
    if (m.type === 'action') {
      this.onAction?.(m.action);
      return;
    }
    if (m.type === 'view') {
      if (this.summary) this.lastView = { model: this.summary.model.id, layer: m.layer, head: m.head };
      return;
    }
    try {
      let uri: vscode.Uri | undefined;
      if (m.type === 'exportPng') uri = await exportPng(m.dataUrl, 'attention', this.exportTarget?.uri);
      else if (m.type === 'exportSeq2SeqJson') {
        if (!this.seq2seq) return;
        const target = this.exportTarget;
        const choice = target && { scope: target.scope, target: target.uri };
        uri = await exportSeq2SeqJson(this.client, this.seq2seq, m, this.sourceLabel, choice);
      } else if (m.type === 'exportJson' && this.summary) {
        const target = this.exportTarget;
        const choice = target && { scope: target.scope, target: target.uri };
        uri = await exportJson(this.client, this.summary, m.layer, m.head, this.sourceLabel, choice);
      }
      if (uri)
        void vscode.window.showInformationMessage(`Attention Lens: saved ${vscode.workspace.asRelativePath(uri)}`);
    } catch (error) {
      this.post({ type: 'error', message: `Could not export: ${(error as Error).message}` });
    }
  }

  /** The panel API: every call forwarded to the engine (the request was validated before it got here). */
  private readonly panelApi: {
    [K in keyof PanelApi]: (p: Parameters<PanelApi[K]>[0]) => Promise<ReturnType<PanelApi[K]>>;
  } = {
    slice: (p) => this.client.call('slice', p),
    rows: (p) => this.client.call('rows', p),
    thumbnails: (p) => this.client.call('thumbnails', p),
    rankHeads: (p) => this.client.call('rankHeads', p),
    logitLens: (p) => this.client.call('logitLens', p),
    familySlice: (p) => this.client.call('familySlice', p),
    overview: (p) => this.client.call('overview', p),
    received: (p) => this.client.call('received', p),
    tile: (p) => this.client.call('tile', p),
    layerOperands: (p) => this.client.call('layerOperands', p),
  };

  /** The encoder–decoder analysis on display (its requests are validated against it). */
  private seq2seq: Seq2SeqReply | undefined;

  /** Shows an encoder–decoder analysis: the panel's source / output strips and family selector. */
  showSeq2Seq(reply: Seq2SeqReply, title: string, sourceLabel: string, source?: AnalysisSource): void {
    this.summary = undefined;
    this.seq2seq = reply;
    this.setTitle(title);
    this.sourceLabel = sourceLabel;
    this.post({ type: 'seq2seq', reply, sourceLabel });
    this.heat.attach(source, sourceTokensSummary(reply));
  }

  override dispose(): void {
    if (this.isDisposed) return;
    if (AttentionPanel.current === this) AttentionPanel.current = undefined;
    if (this.summary) void this.client.call('release', { analysisId: this.summary.analysisId }).catch(() => undefined);
    this.summary = undefined;
    super.dispose();
    this.panel.dispose();
  }
}
