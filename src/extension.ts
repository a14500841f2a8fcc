// Activation: wiring only. Every disposable goes to context.subscriptions.
import * as vscode from 'vscode';
import type { AttentionLensApi } from './extension-api';
import { AttentionPanel, PANEL_VIEW_TYPE } from './host/attention-panel';
import { type CompareArgs, compareTexts } from './host/compare-texts';
import { EngineClient } from './host/engine-client';
import { selectModel } from './host/model-picker';
import { setDefaultCacheDir } from './host/settings';
import { ShowAttention } from './host/show-attention';
import { AttentionStatusBar, COUNT_EXACTLY_COMMAND, STATUS_BAR_COMMAND } from './host/status-bar';
import { registerWalkthrough } from './host/walkthrough';

let client: EngineClient | undefined;

/** A count that takes longer than this (loading the tokenizer included) is stopped and the counter restarted. */
const COUNT_TIMEOUT_MS = 30_000;

/** Starts nothing heavy: the worker starts on first use. */
export function activate(context: vscode.ExtensionContext): AttentionLensApi {
  const log = vscode.window.createOutputChannel('Attention Lens');
  setDefaultCacheDir(vscode.Uri.joinPath(context.globalStorageUri, 'models').fsPath);
  const workerPath = vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath;
  client = new EngineClient(workerPath, {
    onCrash: (message) => {
      log.appendLine(`[engine] stopped: ${message}; it restarts on the next request`);
      void vscode.window.showWarningMessage(
        'Attention Lens: the attention engine stopped unexpectedly and will restart on the next request.',
      );
    },
    onStderr: (line) => log.appendLine(`[engine] ${line}`),
  });
  // Counting has an engine process of its own (a tokenizer, no model): an analysis never waits behind a count, and
  // a tokenizer that hangs (a backtracking pre-tokenizer regex) is killed on a short timeout without touching it.
  const counter = new EngineClient(workerPath, {
    timeouts: { countTokens: COUNT_TIMEOUT_MS },
    onStderr: (line) => log.appendLine(`[counter] ${line}`),
  });
  const show = new ShowAttention(context.extensionUri, client, log);
  const engine = client;
  const statusBar = new AttentionStatusBar(counter);
  context.subscriptions.push(
    log,
    { dispose: () => void engine.dispose() },
    { dispose: () => void counter.dispose() },
    vscode.commands.registerCommand('attentionLens.showAttention', () => show.execute()),
    vscode.commands.registerCommand('attentionLens.continue', () => show.execute({ continue: true })),
    vscode.commands.registerCommand('attentionLens.showFile', () => show.execute({ wholeFile: true })),
    vscode.commands.registerCommand('attentionLens.showTranslation', (target?: unknown) =>
      show.translate(typeof target === 'string' ? target : undefined),
    ),
    vscode.commands.registerCommand(STATUS_BAR_COMMAND, () => statusBar.click(show)),
    vscode.commands.registerCommand(COUNT_EXACTLY_COMMAND, () => statusBar.countExactly()),
    vscode.commands.registerCommand('attentionLens.selectModel', (preset?: unknown) => selectModel(preset)),
    vscode.commands.registerCommand('attentionLens.compareTexts', (args?: CompareArgs) =>
      compareTexts(context.extensionUri, engine, args && typeof args === 'object' ? args : {}),
    ),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        // Not awaited: the model may need seconds to load and the workbench must not wait for it.
        void show.restore(AttentionPanel.revive(panel, context.extensionUri, engine), state);
      },
    }),
    statusBar,
    ...registerWalkthrough(context.extension.id, statusBar, show),
  );
  // A small API for tests and other extensions.
  return {
    client,
    counter,
    statusBarText: () => statusBar.text,
    statusBarState: () => statusBar.state,
    statusBarTooltip: () => statusBar.tooltip,
    // For tests: drive the panel as its webview would, and read what it did.
    panel: {
      receive: (message: unknown) => AttentionPanel.active?.receive(message),
      heat: () => AttentionPanel.active?.heat.state,
      lastPosted: () => AttentionPanel.active?.lastPosted,
      exportTo: (uri: vscode.Uri, scope: 'view' | 'all') => {
        if (AttentionPanel.active) AttentionPanel.active.exportTarget = { uri, scope };
      },
    },
  };
}

/** The worker is terminated through context.subscriptions. */
export function deactivate(): void {
  client = undefined;
}
