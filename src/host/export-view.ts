// Export from the panel: the current view as PNG, and the data as JSON (the current slice or every layer × head),
// through VS Code's save dialog, with the size shown before anything is written.
import * as vscode from 'vscode';
import { estimateJsonBytes, matrixRows, modelJson } from '../protocol/attention-json';
import type { AnalysisSummary, HeadSelector } from '../protocol/messages';
import { bytes } from './cost';
import type { EngineClient } from './engine-client';

const PNG_PREFIX = 'data:image/png;base64,';

/** The PNG bytes of a data URL the panel produced, or undefined if it is not one. */
export function pngFromDataUrl(dataUrl: string): Uint8Array | undefined {
  if (!dataUrl.startsWith(PNG_PREFIX)) return undefined;
  const data = Buffer.from(dataUrl.slice(PNG_PREFIX.length), 'base64');
  // The PNG signature: anything else is not what the canvas makes.
  return data.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])) ? new Uint8Array(data) : undefined;
}

/** Writes the panel's PNG where the user chooses (or to `target`). Returns the file written. */
export async function exportPng(dataUrl: string, suggested: string, target?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const png = pngFromDataUrl(dataUrl);
  if (!png) throw new Error('the panel did not produce a PNG image.');
  const uri = target ?? await vscode.window.showSaveDialog({ defaultUri: defaultUri(`${suggested}.png`), filters: { 'PNG image': ['png'] }, saveLabel: `Export PNG (${bytes(png.byteLength)})` });
  if (!uri) return undefined;
  await vscode.workspace.fs.writeFile(uri, png);
  return uri;
}

/** What the JSON holds: the view on screen, or every layer × head. */
export type JsonScope = 'view' | 'all';

/** Builds the JSON document (same shape as the CLI's) by fetching the slices from the worker. */
export async function attentionJson(client: EngineClient, s: AnalysisSummary, scope: JsonScope, layer: number, head: HeadSelector, source: string): Promise<string> {
  const out: Record<string, unknown> = { model: { ...modelJson(s.model), dtype: s.model.dtype }, source, tokens: s.tokens, n: s.n };
  if (scope === 'all') {
    const all: number[][][][] = [];
    for (let l = 0; l < s.model.layers; l++) {
      const heads: number[][][] = [];
      for (let h = 0; h < s.model.heads[l]; h++) heads.push(matrixRows((await client.call('slice', { analysisId: s.analysisId, layer: l, head: h })).buffer, s.n));
      all.push(heads);
    }
    out.attentions = all;
  } else {
    const slice = await client.call('slice', { analysisId: s.analysisId, layer, head });
    out.attention = { layer, head, matrix: matrixRows(slice.buffer, s.n) };
  }
  return JSON.stringify(out);
}

/** Asks which JSON (showing each size), where to save it (or uses `target`), and writes it. */
export async function exportJson(client: EngineClient, s: AnalysisSummary, layer: number, head: HeadSelector, source: string, choice?: { scope: JsonScope; target: vscode.Uri }): Promise<vscode.Uri | undefined> {
  const total = s.model.heads.reduce((a, b) => a + b, 0);
  const viewName = head === 'rollout' ? `rollout through layer ${layer + 1}` : `layer ${layer + 1}, ${typeof head === 'number' ? `head ${head + 1}` : `${head} of heads`}`;
  let scope = choice?.scope;
  if (!scope) {
    const picked = await vscode.window.showQuickPick([
      { label: 'The current view', description: `${viewName} · about ${bytes(estimateJsonBytes(s, 1))}`, scope: 'view' as const },
      { label: 'Every layer × head', description: `${total} matrices · about ${bytes(estimateJsonBytes(s, total))}`, scope: 'all' as const },
    ], { title: 'Attention Lens: export attention as JSON' });
    scope = picked?.scope;
  }
  if (!scope) return undefined;
  const uri = choice?.target ?? await vscode.window.showSaveDialog({ defaultUri: defaultUri('attention.json'), filters: { JSON: ['json'] }, saveLabel: 'Export JSON' });
  if (!uri) return undefined;
  const text = await attentionJson(client, s, scope, layer, head, source);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  return uri;
}

function defaultUri(name: string): vscode.Uri | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder ? vscode.Uri.joinPath(folder, name) : undefined;
}
