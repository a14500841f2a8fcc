// The Show Attention command: selection (or current line) -> engine in the worker -> panel.
import * as vscode from 'vscode';
import type {
  AnalysisSummary,
  DownloadProgress,
  EngineErrorCode,
  EngineEvent,
  PanelAction,
} from '../protocol/messages';
import { continuationText, truncationNote } from '../protocol/format';
import { bytes } from './cost';
import { EngineError } from '../protocol/rpc';
import { AttentionPanel } from './attention-panel';
import type { EngineClient } from './engine-client';
import { withHostHint } from './error-hints';
import { removePartialDownloads } from './partial-downloads';
import { analyzeOptions, engineOptions, readSettings } from './settings';

/** The first words of a text, for the panel title. */
export function titleOf(text: string, maxChars = 32): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= maxChars ? flat : `${flat.slice(0, maxChars - 1).trimEnd()}…`;
}

/** Shows model download progress (bytes and percent) in the run's notification and logs finished files. */
class DownloadReporter {
  private readonly done = new Set<string>();
  /** Every file the engine reported progress for (its leftovers are removed on cancel). */
  readonly files = new Set<string>();
  private progress: vscode.Progress<{ message?: string }> | undefined;
  private message: string | undefined;

  constructor(private readonly log: vscode.OutputChannel) {}

  /** The notification appeared: show the latest message there from now on. */
  attach(progress: vscode.Progress<{ message?: string }>, initial: string): void {
    this.progress = progress;
    progress.report({ message: this.message ?? initial });
  }

  report(p: DownloadProgress): void {
    this.files.add(p.file);
    const pct = p.total > 0 ? ` (${Math.floor((p.loaded / p.total) * 100)}%)` : '';
    this.message = `downloading ${p.file}: ${bytes(p.loaded)}${p.total > 0 ? ` of ${bytes(p.total)}` : ''}${pct}`;
    this.progress?.report({ message: this.message });
    // transformers.js may report a file's 100% twice: log it once.
    if (p.total > 0 && p.loaded >= p.total && !this.done.has(p.file)) {
      this.done.add(p.file);
      this.log.appendLine(`[download] ${p.file}: ${bytes(p.total)}`);
    }
  }
}

/** How long a run may take before its cancellable progress notification appears. */
const NOTIFY_AFTER_MS = 500;

/** Runs Show Attention; at most one run is live: a new run makes the previous one's result stale. */
export class ShowAttention {
  private run = 0;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly client: EngineClient,
    private readonly log: vscode.OutputChannel,
  ) {}

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
    panel.showLoading(
      titleOf(text),
      `Restoring: analysing ${text.length.toLocaleString()} characters with ${settings.model}…`,
    );
    try {
      const summary = await this.client.call('analyze', { ...analyzeOptions(settings), text });
      if (myRun === this.run && AttentionPanel.active === panel)
        panel.showAnalysis(summary, titleOf(text), sourceLabel, text);
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
  /**
   * Show Attention for a Translation…: the user types the translation; an encoder–decoder reads it (teacher forcing),
   * so the panel shows what the model looks at to produce THIS translation.
   */
  async translate(target?: string): Promise<void> {
    if (!vscode.window.activeTextEditor) {
      void vscode.window.showInformationMessage('Attention Lens: open a text file and select the source text first.');
      return;
    }
    const settings = readSettings();
    const seq2seq = await this.client.call('isEncoderDecoder', engineOptions(settings)).catch(() => false);
    if (!seq2seq) {
      void vscode.window.showInformationMessage(
        `Attention Lens: Show Attention for a Translation needs an encoder–decoder model (T5, Marian, BART …); ${settings.model} reads one text.`,
      );
      return;
    }
    const typed =
      target ??
      (await vscode.window.showInputBox({
        title: 'Show Attention for a Translation',
        prompt: 'The translation the model should read: the panel shows what it looks at to produce it.',
        placeHolder: 'Bonjour, comment allez-vous ?',
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim().length === 0 ? 'Type the translation (or press Escape).' : undefined),
      }));
    if (typed === undefined || typed.trim().length === 0) return;
    await this.execute({ target: typed });
  }

  async execute(
    options: {
      scope?: 'selection' | 'document';
      aroundCursor?: boolean;
      continue?: boolean;
      target?: string;
      /** Show Attention for This File: the whole document up to the model's own limit (not attentionLens.maxTokens). */
      wholeFile?: boolean;
    } = {},
  ): Promise<AnalysisSummary | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Attention Lens: open a text file and select some text first.');
      return undefined;
    }
    const doc = editor.document;
    const range =
      options.scope === 'document' || options.wholeFile
        ? new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length))
        : editor.selection.isEmpty
          ? doc.lineAt(editor.selection.active.line).range
          : new vscode.Range(editor.selection.start, editor.selection.end);
    const text = doc.getText(range);
    const startVersion = doc.version;
    const cursor = editor.selection.active;
    const around =
      (options.aroundCursor || options.wholeFile) && range.contains(cursor)
        ? doc.offsetAt(cursor) - doc.offsetAt(range.start)
        : undefined;
    if (text.trim().length === 0) {
      void vscode.window.showWarningMessage(
        'Attention Lens: there is no text to analyse. Select some words (not only whitespace) and run Show Attention again.',
      );
      return undefined;
    }
    const settings = readSettings();
    const myRun = ++this.run;
    const title = titleOf(text);
    const panel = AttentionPanel.show(this.extensionUri, this.client, editor.viewColumn);
    panel.showLoading(
      title,
      options.continue
        ? `Continuing with ${settings.model} (${settings.dtype}): up to ${settings.maxNewTokens} tokens…`
        : `Analysing ${text.length.toLocaleString()} characters with ${settings.model} (${settings.dtype})…`,
    );
    // A virtual document (the walkthrough's lesson) has no workspace path: its name is enough.
    const uri = editor.document.uri;
    const where =
      uri.scheme === 'file' || uri.scheme === 'vscode-remote'
        ? vscode.workspace.asRelativePath(uri)
        : uri.path.split('/').pop();
    const sourceLabel = `${where}:${range.start.line + 1}`;
    const started = Date.now();
    const download = new DownloadReporter(this.log);
    let cancel: (e: EngineError) => void = () => undefined;
    const cancelled = new Promise<never>((_, reject) => {
      cancel = reject;
    });
    cancelled.catch(() => undefined);
    const params = {
      ...analyzeOptions(settings),
      // For This File reads as much as the model does; a long analysis then keeps reductions, not every map.
      ...(options.wholeFile ? { maxTokens: undefined } : {}),
      text,
      around,
      firstView: panel.firstViewFor(settings.model),
    };
    // Cancelling while the model loads (download, graph surgery, session creation) stops the engine process, which
    // is safe, and restarts it on the next request; a forward pass on a loaded model is left to finish unseen so
    // the model stays loaded.
    const warm = this.client.isWarm(params);
    // Continue and Show Attention: the model writes up to maxNewTokens after the text; the panel shows prompt +
    // continuation (the engine keeps each step's rows with the KV cache).
    let written = '';
    const onEvent = (e: EngineEvent) => {
      if ('file' in e) download.report(e);
      else if ('live' in e) panel.showLiveRows(e.live);
      else {
        // Tokens stream into the panel as the model writes them.
        written += e.token.text;
        panel.showGenerating(written, { text: e.token.text, index: e.index });
      }
    };
    // An encoder–decoder translates the selection (Show Attention and Continue alike) and shows its three families.
    let translating = false;
    const call = (async () => {
      const options_ = engineOptions(settings);
      translating = await this.client.call('isEncoderDecoder', options_).catch(() => false);
      if (translating)
        return this.client.call(
          'seq2seq',
          {
            ...options_,
            text,
            maxNewTokens: settings.maxNewTokens,
            target: options.target,
            sourceLanguage: settings.sourceLanguage,
            targetLanguage: settings.targetLanguage,
          },
          onEvent,
        );
      return options.continue
        ? this.client.call(
            'generate',
            {
              ...analyzeOptions(settings),
              text,
              maxNewTokens: settings.maxNewTokens,
              temperature: settings.temperature,
              topK: settings.topK,
              stopSequences: settings.stopSequences,
              watch: params.firstView,
            },
            onEvent,
          )
        : this.client.call('analyze', params, onEvent);
    })();
    const enginePid = this.client.pid;
    // A warm run paints in well under a second: the cancellable notification (whose animation competes with the
    // model for the CPU) appears only for slower runs — model loads, downloads, long texts.
    let settled = false;
    const notice = setTimeout(() => {
      if (settled) return;
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Attention Lens', cancellable: true },
        (progress, token) => {
          download.attach(progress, `running ${settings.model}…`);
          token.onCancellationRequested(() => {
            // Continuing on a loaded model: stop after the current step and show what was written so far.
            if ((options.continue || translating) && warm) {
              void this.client.call('stopGenerating', {});
              return;
            }
            if (!warm) {
              void this.client
                .restart('cancelled')
                .then(() => removePartialDownloads(settings.cacheDir, settings.model, download.files, enginePid))
                .then((removed) => {
                  if (removed.length)
                    this.log.appendLine(`[download] cancelled; removed ${removed.length} partial file(s)`);
                });
            }
            cancel(new EngineError('cancelled', 'cancelled'));
          });
          return Promise.race([call, cancelled]).catch(() => undefined);
        },
      );
    }, NOTIFY_AFTER_MS);
    try {
      const reply = await Promise.race([call, cancelled]).finally(() => {
        settled = true;
        clearTimeout(notice);
      });
      if (myRun !== this.run || !AttentionPanel.active) return undefined;
      const shown = AttentionPanel.active;
      if ('targetTokens' in reply) {
        shown.showSeq2Seq(reply, title, sourceLabel, {
          uri: doc.uri,
          version: startVersion,
          baseOffset: doc.offsetAt(range.start),
        });
        shown.onAction = (action) => void this.runAction(action, options);
        this.log.appendLine(
          `[seq2seq] ${reply.model.id} ${reply.model.dtype}: source ${reply.tokens.length}, output ${reply.targetTokens.length} tokens (${reply.generated ? 'generated' : 'given'}): ${JSON.stringify(reply.translation)}, total ${Date.now() - started} ms`,
        );
        return undefined;
      }
      shown.showAnalysis(reply, title, sourceLabel, text, {
        uri: doc.uri,
        version: startVersion,
        baseOffset: doc.offsetAt(range.start),
      });
      const continuation = 'generated' in reply ? continuationText(reply) : '';
      shown.onAction = (action) => {
        // Insert puts the continuation after the analysed text, as one edit (one undo step).
        if (action === 'insertContinuation') void insertAfter(doc.uri, range.end, startVersion, continuation);
        // The panel's Continue: the same text, selected again in its editor, continued by the model.
        else if (action === 'continue') void this.continueFrom(doc.uri, range, startVersion);
        else void this.runAction(action, options);
      };
      if ('generated' in reply) {
        this.log.appendLine(
          `[generate] ${reply.generated.length} tokens${reply.cached ? ' (KV cache)' : ''}: ${JSON.stringify(continuation)}`,
        );
      }
      const { first: _first, ...summary } = 'first' in reply ? reply : { ...reply, first: undefined };
      this.log.appendLine(
        `[analyze] ${summary.model.id} ${summary.model.dtype}: N=${summary.n}, load ${summary.timings.loadMs.toFixed(0)} ms, tokenize ${summary.timings.tokenizeMs.toFixed(0)} ms, forward ${summary.timings.forwardMs.toFixed(0)} ms, total ${Date.now() - started} ms`,
      );
      if (summary.truncated) {
        const other = summary.analysedFrom > 0 ? 'Show the Start' : 'Show Around the Cursor';
        void vscode.window
          .showInformationMessage(`Attention Lens: ${truncationNote(summary)}`, other)
          .then((choice) => {
            if (choice) void this.execute({ ...options, aroundCursor: summary.analysedFrom === 0 });
          });
      }
      return summary;
    } catch (error) {
      if (myRun !== this.run) return undefined;
      const e =
        error instanceof EngineError ? error : new EngineError('internal', String((error as Error)?.message ?? error));
      this.log.appendLine(`[error] ${e.code}: ${e.message}`);
      const panelNow = AttentionPanel.active;
      if (panelNow) {
        panelNow.onAction = (action) => void this.runAction(action, options);
        panelNow.showRunFailed(title, e.code === 'cancelled' ? 'Cancelled.' : withHostHint(e), panelActions(e.code));
      }
      if (e.code === 'cancelled') return undefined;
      if (e.details) this.log.appendLine(`[details] ${e.details}`);
      const actions =
        e.code === 'offline' || e.code === 'model-not-found'
          ? ['Retry', 'Use a Local Folder…', 'Show Log']
          : ['Show Log'];
      void vscode.window.showErrorMessage(`Attention Lens: ${withHostHint(e)}`, ...actions).then(async (choice) => {
        if (choice === 'Show Log') this.log.show();
        if (choice === 'Retry') void this.execute(options);
        if (
          choice === 'Use a Local Folder…' &&
          (await vscode.commands.executeCommand('attentionLens.selectModel', 'folder'))
        )
          void this.execute(options);
      });
      return undefined;
    }
  }

  /** Selects the analysed range in its editor again and runs Continue and Show Attention on it. */
  private async continueFrom(uri: vscode.Uri, range: vscode.Range, version: number): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(uri);
    if (doc.version !== version) {
      void vscode.window.showWarningMessage(
        'Attention Lens: the text changed since this analysis; select it again and run Continue and Show Attention.',
      );
      return;
    }
    const column =
      vscode.window.visibleTextEditors.find((e) => e.document === doc)?.viewColumn ?? vscode.ViewColumn.One;
    const editor = await vscode.window.showTextDocument(doc, {
      viewColumn: column,
      preserveFocus: false,
      preview: false,
    });
    editor.selection = new vscode.Selection(range.start, range.end);
    await this.execute({ continue: true });
  }

  /** The panel's error-box buttons. */
  private async runAction(action: PanelAction, options: Parameters<ShowAttention['execute']>[0]): Promise<void> {
    if (action === 'showLog') this.log.show();
    else if (action === 'retry') await this.execute(options);
    else if (action === 'openSettings')
      await vscode.commands.executeCommand('workbench.action.openSettings', 'attentionLens.model');
    else if (action === 'selectModel' && (await vscode.commands.executeCommand('attentionLens.selectModel'))) {
      await this.execute(options);
    }
  }
}

/** What the panel's error box offers for an error: a model problem gets the model's settings, anything may retry. */
export function panelActions(code: EngineErrorCode): PanelAction[] {
  if (code === 'cancelled') return ['retry'];
  if (
    code === 'model-not-found' ||
    code === 'offline' ||
    code === 'bad-model' ||
    code === 'fused-attention' ||
    code === 'no-attention-softmax'
  ) {
    return ['selectModel', 'openSettings', 'retry', 'showLog'];
  }
  return ['retry', 'showLog'];
}

/** Inserts `text` at `at` in the document, unless it changed since the analysis (the position would be wrong). */
async function insertAfter(uri: vscode.Uri, at: vscode.Position, version: number, text: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  if (doc.version !== version) {
    void vscode.window.showWarningMessage(
      'Attention Lens: the document changed since the continuation was generated; run Continue again to insert it.',
    );
    return;
  }
  const edit = new vscode.WorkspaceEdit();
  edit.insert(uri, at, text);
  await vscode.workspace.applyEdit(edit);
}
