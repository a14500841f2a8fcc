// The "Learn attention" walkthrough's step commands: each step's button does what the step teaches.
import * as vscode from 'vscode';
import { AttentionPanel } from './attention-panel';
import type { ShowAttention } from './show-attention';
import type { AttentionStatusBar } from './status-bar';

/** The lesson's sentences as a read-only document: no Untitled file left dirty behind the walkthrough. */
export const LESSON_URI = vscode.Uri.parse('attention-lens-lesson:/The%20lesson%27s%20sentences.txt');

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

/** Opens the lesson's sentences beside the walkthrough (never over it) with the first sentence selected. */
async function openSample(): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(LESSON_URI);
  const shown = vscode.window.visibleTextEditors.find((e) => e.document === doc);
  const editor = await vscode.window.showTextDocument(doc, {
    viewColumn: shown?.viewColumn ?? vscode.ViewColumn.Beside,
    preview: false,
  });
  editor.selection = new vscode.Selection(0, 0, 0, doc.lineAt(0).text.length);
  return editor;
}

/** Registers the step commands. */
export function registerWalkthrough(
  extensionId: string,
  statusBar: AttentionStatusBar,
  show: ShowAttention,
): vscode.Disposable[] {
  return [
    vscode.workspace.registerTextDocumentContentProvider(LESSON_URI.scheme, {
      provideTextDocumentContent: () => LESSON_TEXT,
    }),
    vscode.commands.registerCommand('attentionLens.openWalkthrough', () =>
      vscode.commands.executeCommand('workbench.action.openWalkthrough', `${extensionId}#learn`, false),
    ),
    vscode.commands.registerCommand('attentionLens.walkthrough.openSample', openSample),
    // Step 2 acts on the sample, whatever editor is active (the Welcome page is, when the button is clicked); the
    // panel opens beside the sample, so the walkthrough, the sentence and the panel are all in view.
    vscode.commands.registerCommand('attentionLens.walkthrough.show', async () => {
      const active = vscode.window.activeTextEditor;
      if (active?.document.uri.toString() !== LESSON_URI.toString()) await openSample();
      return show.execute();
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
      const shown = AttentionPanel.active?.shown;
      const text = statusBar.explain(shown && { n: shown.n, heads: shown.model.heads });
      void vscode.window.showInformationMessage(text);
      return text;
    }),
  ];
}
