// The webview panel: one per window, reused by every Show Attention run, restored after a reload.
import * as vscode from 'vscode';
import type { AnalysisSummary, FromWebview, HeadSelector, ToWebview } from '../protocol/messages';
import { EngineError } from '../protocol/rpc';
import type { EngineClient } from './engine-client';
import { webviewHtml, webviewOptions } from './webview-html';

/** The panel's view type, also used by the serializer. */
export const PANEL_VIEW_TYPE = 'attentionLens.panel';

/** Checks a message from the webview before use: the webview renders untrusted text, so trust nothing it sends. */
export function validateFromWebview(m: unknown, summary: AnalysisSummary | undefined): FromWebview | undefined {
  if (!m || typeof m !== 'object') return undefined;
  const msg = m as Record<string, unknown>;
  const isInt = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < max;
  switch (msg.type) {
    case 'ready':
      return { type: 'ready' };
    case 'requestSlice': {
      if (!summary || msg.analysisId !== summary.analysisId || !isInt(msg.requestId, Number.MAX_SAFE_INTEGER)) return undefined;
      if (!isInt(msg.layer, summary.model.layers)) return undefined;
      const head = msg.head;
      const okHead = head === 'mean' || head === 'max' || isInt(head, summary.model.heads[msg.layer as number]);
      return okHead ? { type: 'requestSlice', requestId: msg.requestId as number, analysisId: summary.analysisId, layer: msg.layer as number, head: head as HeadSelector } : undefined;
    }
    case 'requestThumbnails':
      return summary && msg.analysisId === summary.analysisId && isInt(msg.size, 257) ? { type: 'requestThumbnails', analysisId: summary.analysisId, size: msg.size as number } : undefined;
    case 'requestRows': {
      if (!summary || msg.analysisId !== summary.analysisId || !isInt(msg.requestId, Number.MAX_SAFE_INTEGER)) return undefined;
      if (!isInt(msg.layer, summary.model.layers) || !isInt(msg.index, summary.n) || (msg.direction !== 'row' && msg.direction !== 'column')) return undefined;
      return { type: 'requestRows', requestId: msg.requestId as number, analysisId: summary.analysisId, layer: msg.layer as number, index: msg.index as number, direction: msg.direction };
    }
    case 'focusToken':
      return msg.index === null || (summary && isInt(msg.index, summary.n)) ? { type: 'focusToken', index: msg.index as number | null } : undefined;
    default:
      return undefined;
  }
}

/** The single Attention Lens panel. */
export class AttentionPanel implements vscode.Disposable {
  private static current: AttentionPanel | undefined;
  private ready = false;
  private queued: ToWebview[] = [];
  private summary: AnalysisSummary | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  private constructor(readonly panel: vscode.WebviewPanel, private readonly extensionUri: vscode.Uri, private readonly client: EngineClient) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m) => this.onMessage(m)),
    );
  }

  /** The open panel, if any. */
  static get active(): AttentionPanel | undefined {
    return AttentionPanel.current;
  }

  /** Shows the panel (creating it beside the editor if needed). */
  static show(extensionUri: vscode.Uri, client: EngineClient): AttentionPanel {
    if (AttentionPanel.current) {
      AttentionPanel.current.panel.reveal(undefined, true);
      return AttentionPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'Attention Lens', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, webviewOptions(extensionUri));
    AttentionPanel.current = new AttentionPanel(panel, extensionUri, client);
    return AttentionPanel.current;
  }

  /** Adopts a panel VS Code restored after a reload. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, client: EngineClient): AttentionPanel {
    AttentionPanel.current?.dispose();
    AttentionPanel.current = new AttentionPanel(panel, extensionUri, client);
    return AttentionPanel.current;
  }

  /** Shows that a run is in progress. */
  showLoading(title: string, text: string): void {
    this.panel.title = `Attention: ${title}`;
    this.post({ type: 'loading', title, text });
  }

  /** Shows a finished analysis; the previous one's data is released in the worker. */
  showAnalysis(summary: AnalysisSummary, title: string, sourceLabel: string, sourceText?: string): void {
    const previous = this.summary;
    this.summary = summary;
    if (previous && previous.analysisId !== summary.analysisId) void this.client.call('release', { analysisId: previous.analysisId }).catch(() => undefined);
    this.panel.title = `Attention: ${title}`;
    this.post({ type: 'analysis', summary, sourceLabel, sourceText });
  }

  /** Shows an error in the panel. */
  showError(message: string): void {
    this.post({ type: 'error', message });
  }

  /** The analysis on display. */
  get shown(): AnalysisSummary | undefined {
    return this.summary;
  }

  private post(message: ToWebview): void {
    if (!this.ready) {
      // Only the latest state matters before the webview is ready.
      this.queued = message.type === 'analysis' || message.type === 'loading' ? [message] : [...this.queued, message];
      return;
    }
    void this.panel.webview.postMessage(message);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = validateFromWebview(raw, this.summary);
    if (!m) return;
    if (m.type === 'ready') {
      this.ready = true;
      for (const q of this.queued) void this.panel.webview.postMessage(q);
      this.queued = [];
      return;
    }
    try {
      if (m.type === 'requestSlice') {
        const slice = await this.client.call('slice', { analysisId: m.analysisId, layer: m.layer, head: m.head });
        this.post({ type: 'slice', requestId: m.requestId, slice });
      } else if (m.type === 'requestRows') {
        const rows = await this.client.call('rows', { analysisId: m.analysisId, layer: m.layer, index: m.index, direction: m.direction });
        this.post({ type: 'rows', requestId: m.requestId, rows });
      } else if (m.type === 'requestThumbnails') {
        const thumbnails = await this.client.call('thumbnails', { analysisId: m.analysisId, size: m.size });
        this.post({ type: 'thumbnails', thumbnails });
      }
    } catch (error) {
      const message = error instanceof EngineError && error.code === 'unknown-analysis'
        ? 'This analysis is no longer in memory. Run "Attention Lens: Show Attention" again.'
        : `Could not read attention: ${(error as Error).message}`;
      this.post({ type: 'error', message });
    }
  }

  dispose(): void {
    if (AttentionPanel.current === this) AttentionPanel.current = undefined;
    if (this.summary) void this.client.call('release', { analysisId: this.summary.analysisId }).catch(() => undefined);
    this.summary = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
