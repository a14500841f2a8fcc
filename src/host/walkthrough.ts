// The "Learn attention" walkthrough's step commands: each step's button does what the step teaches.
import * as vscode from 'vscode';
import { AttentionPanel } from './attention-panel';
import type { AttentionStatusBar } from './status-bar';

/** The lesson's example sentences. */
export const LESSON_TEXT = [
  "The animal didn't cross the street because it was too tired.",
  "The trophy didn't fit in the suitcase because it was too big.",
  'Arjun ate the pizza because he was hungry.',
].join('\n');

/** A token's text without the tokenizer's word markers (GPT-2's Ġ, WordPiece's ##), lowercased. */
function plain(text: string): string {
  return text
    .replace(/^(Ġ|##|▁)/, '')
    .trim()
    .toLowerCase();
}

/** Registers the step commands. */
export function registerWalkthrough(extensionId: string, statusBar: AttentionStatusBar): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('attentionLens.openWalkthrough', () =>
      vscode.commands.executeCommand('workbench.action.openWalkthrough', `${extensionId}#learn`, false),
    ),
    vscode.commands.registerCommand('attentionLens.walkthrough.openSample', async () => {
      const doc = await vscode.workspace.openTextDocument({ content: LESSON_TEXT, language: 'plaintext' });
      const editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
      editor.selection = new vscode.Selection(0, 0, 0, doc.lineAt(0).text.length);
      return editor;
    }),
    vscode.commands.registerCommand('attentionLens.walkthrough.focusWord', (word: unknown = 'it') => {
      const panel = AttentionPanel.active;
      const summary = panel?.shown;
      if (!panel || !summary) {
        void vscode.window.showInformationMessage('Attention Lens: run Show Attention first (the previous step).');
        return undefined;
      }
      const index = summary.tokens.findIndex((t) => plain(t.text) === String(word).toLowerCase());
      if (index < 0) {
        void vscode.window.showInformationMessage(
          `Attention Lens: "${String(word)}" is not among the analysed tokens.`,
        );
        return undefined;
      }
      panel.lockToken(index);
      return index;
    }),
    vscode.commands.registerCommand('attentionLens.walkthrough.nextHead', () => {
      if (!AttentionPanel.active?.shown) {
        void vscode.window.showInformationMessage('Attention Lens: run Show Attention first.');
        return false;
      }
      AttentionPanel.active.nextHead();
      return true;
    }),
    vscode.commands.registerCommand('attentionLens.walkthrough.explainCost', () => {
      const text = statusBar.explain();
      void vscode.window.showInformationMessage(text);
      return text;
    }),
  ];
}
