// The Show Attention command: selection (or current line) -> engine in the worker -> panel.
import * as vscode from 'vscode';
import type { AnalysisSummary } from '../protocol/messages';
import { EngineError } from '../protocol/rpc';
import { AttentionPanel } from './attention-panel';
import type { EngineClient } from './engine-client';
import { engineOptions, readSettings } from './settings';

/** The first words of a text, for the panel title. */
export function titleOf(text: string, maxChars = 32): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= maxChars ? flat : `${flat.slice(0, maxChars - 1).trimEnd()}…`;
}

/** Runs Show Attention; at most one run is live: a new run makes the previous one's result stale. */
export class ShowAttention {
  private run = 0;

  constructor(private readonly extensionUri: vscode.Uri, private readonly client: EngineClient, private readonly log: vscode.OutputChannel) {}

  /** Re-runs the text a panel showed before a window reload, from the state VS Code kept with it. */
  async restore(panel: AttentionPanel, saved: unknown): Promise<void> {
    const st = (saved && typeof saved === 'object' ? saved : {}) as { sourceText?: unknown; sourceLabel?: unknown };
    if (typeof st.sourceText !== 'string' || st.sourceText.trim().length === 0) {
      panel.showError('Run "Attention Lens: Show Attention" to analyse some text.');
      return;
    }
    const text = st.sourceText;
    const sourceLabel = typeof st.sourceLabel === 'string' ? st.sourceLabel : '';
    const settings = readSettings();
    const myRun = ++this.run;
    panel.showLoading(titleOf(text), `Restoring: analysing ${text.length.toLocaleString()} characters with ${settings.model}…`);
    try {
      const summary = await this.client.call('analyze', { ...engineOptions(settings), text, maxTokens: settings.maxTokens, maxAttentionBytes: settings.memoryBudgetBytes });
      if (myRun === this.run && AttentionPanel.active === panel) panel.showAnalysis(summary, titleOf(text), sourceLabel, text);
    } catch (error) {
      if (myRun !== this.run) return;
      this.log.appendLine(`[restore] ${(error as Error).message}`);
      panel.showError(`Could not restore the analysis: ${(error as Error).message}`);
    }
  }

  /**
   * The command handler; resolves to the analysis shown (undefined when nothing was shown).
   * Default scope: the selection, else the current line. `document` analyses the whole document; `aroundCursor`
   * picks the model-sized window around the cursor when the text is too long (otherwise its first part).
   */
  async execute(options: { scope?: 'selection' | 'document'; aroundCursor?: boolean } = {}): Promise<AnalysisSummary | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Attention Lens: open a text file and select some text first.');
      return undefined;
    }
    const doc = editor.document;
    const range = options.scope === 'document'
      ? new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length))
      : editor.selection.isEmpty ? doc.lineAt(editor.selection.active.line).range : new vscode.Range(editor.selection.start, editor.selection.end);
    const text = doc.getText(range);
    const startVersion = doc.version;
    const cursor = editor.selection.active;
    const around = options.aroundCursor && range.contains(cursor) ? doc.offsetAt(cursor) - doc.offsetAt(range.start) : undefined;
    if (text.trim().length === 0) {
      void vscode.window.showWarningMessage('Attention Lens: there is no text to analyse. Select some words (not only whitespace) and run Show Attention again.');
      return undefined;
    }
    const settings = readSettings();
    const myRun = ++this.run;
    const title = titleOf(text);
    const panel = AttentionPanel.show(this.extensionUri, this.client);
    panel.showLoading(title, `Analysing ${text.length.toLocaleString()} characters with ${settings.model} (${settings.dtype})…`);
    const sourceLabel = `${vscode.workspace.asRelativePath(editor.document.uri)}:${range.start.line + 1}`;
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Attention Lens', cancellable: true },
      async (progress, token) => {
        progress.report({ message: `running ${settings.model}…` });
        const started = Date.now();
        try {
          const summary = await Promise.race([
            this.client.call('analyze', { ...engineOptions(settings), text, around, maxTokens: settings.maxTokens, maxAttentionBytes: settings.memoryBudgetBytes }),
            new Promise<never>((_, reject) => token.onCancellationRequested(() => reject(new EngineError('cancelled', 'cancelled')))),
          ]);
          if (myRun !== this.run || !AttentionPanel.active) return undefined;
          AttentionPanel.active.showAnalysis(summary, title, sourceLabel, text, { uri: doc.uri, version: startVersion, baseOffset: doc.offsetAt(range.start) });
          this.log.appendLine(`[analyze] ${summary.model.id} ${summary.model.dtype}: N=${summary.n}, load ${summary.timings.loadMs.toFixed(0)} ms, tokenize ${summary.timings.tokenizeMs.toFixed(0)} ms, forward ${summary.timings.forwardMs.toFixed(0)} ms, total ${Date.now() - started} ms`);
          if (summary.truncated) {
            const part = summary.analysedFrom > 0 ? 'the part around the cursor' : 'its first part';
            const other = summary.analysedFrom > 0 ? 'Show the Start' : 'Show Around the Cursor';
            void vscode.window.showInformationMessage(`Attention Lens: the text is longer than the ${summary.n} tokens ${summary.model.id} reads at once; showing ${part} (characters ${(summary.analysedFrom + 1).toLocaleString()}–${summary.analysedChars.toLocaleString()} of ${summary.totalChars.toLocaleString()}).`, other)
              .then((choice) => { if (choice) void this.execute({ ...options, aroundCursor: summary.analysedFrom === 0 }); });
          }
          return summary;
        } catch (error) {
          if (myRun !== this.run) return undefined;
          const e = error instanceof EngineError ? error : new EngineError('internal', String((error as Error)?.message ?? error));
          this.log.appendLine(`[error] ${e.code}: ${e.message}`);
          if (e.code === 'cancelled') {
            AttentionPanel.active?.showError('Cancelled.');
            return undefined;
          }
          AttentionPanel.active?.showError(e.message);
          void vscode.window.showErrorMessage(`Attention Lens: ${e.message}`, 'Show Log').then((choice) => { if (choice) this.log.show(); });
          return undefined;
        }
      },
    );
  }
}
