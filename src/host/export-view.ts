// Export from the panel: the current view as PNG, and the data as JSON (the current slice or every layer × head),
// through VS Code's save dialog, with the size shown before anything is written.
import * as vscode from 'vscode';
import { attentionJsonChunks, estimateJsonBytes, seq2seqJson } from '../protocol/attention-json';
import type { AnalysisSummary, AttentionFamily, HeadSelector, Seq2SeqReply } from '../protocol/messages';
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
export async function exportPng(
  dataUrl: string,
  suggested: string,
  target?: vscode.Uri,
): Promise<vscode.Uri | undefined> {
  const png = pngFromDataUrl(dataUrl);
  if (!png) throw new Error('the panel did not produce a PNG image.');
  const uri =
    target ??
    (await vscode.window.showSaveDialog({
      defaultUri: defaultUri(`${suggested}.png`),
      filters: { 'PNG image': ['png'] },
      saveLabel: `Export PNG (${bytes(png.byteLength)})`,
    }));
  if (!uri) return undefined;
  await vscode.workspace.fs.writeFile(uri, png);
  return uri;
}

/** What the JSON holds: the view on screen, or every layer × head. */
export type JsonScope = 'view' | 'all';

/** Asks which JSON (showing each size), where to save it (or uses `target`), and writes it. */
export async function exportJson(
  client: EngineClient,
  s: AnalysisSummary,
  layer: number,
  head: HeadSelector,
  source: string,
  choice?: { scope: JsonScope; target: vscode.Uri },
): Promise<vscode.Uri | undefined> {
  const total = s.model.heads.reduce((a, b) => a + b, 0);
  const viewName =
    head === 'rollout'
      ? `rollout through layer ${layer + 1}`
      : `layer ${layer + 1}, ${typeof head === 'number' ? `head ${head + 1}` : `${head} of heads`}`;
  let scope = choice?.scope;
  if (!scope) {
    const picked = await vscode.window.showQuickPick(
      [
        {
          label: 'The current view',
          description: `${viewName} · about ${bytes(estimateJsonBytes(s, 1))}`,
          scope: 'view' as const,
        },
        {
          label: 'Every layer × head',
          description: `${total} matrices · about ${bytes(estimateJsonBytes(s, total))}`,
          scope: 'all' as const,
        },
      ],
      { title: 'Attention Lens: export attention as JSON' },
    );
    scope = picked?.scope;
  }
  if (!scope) return undefined;
  const uri =
    choice?.target ??
    (await vscode.window.showSaveDialog({
      defaultUri: defaultUri('attention.json'),
      filters: { JSON: ['json'] },
      saveLabel: 'Export JSON',
    }));
  if (!uri) return undefined;
  const req = { scope, layer, head, source };
  if (uri.scheme === 'file') {
    // The engine writes the file itself, one matrix at a time: every layer × head of a big model is gigabytes of
    // JSON that must never become one string on the extension host.
    await client.call('exportJson', { analysisId: s.analysisId, path: uri.fsPath, ...req });
    return uri;
  }
  // A virtual file system (remote, untitled schemes): only the current view, small enough to build here.
  if (scope === 'all') throw new Error('every layer × head can be exported only to a file on this machine.');
  let text = '';
  for await (const chunk of attentionJsonChunks(
    s,
    req,
    async (l, h) => (await client.call('slice', { analysisId: s.analysisId, layer: l, head: h })).buffer,
  ))
    text += chunk;
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  return uri;
}

function defaultUri(name: string): vscode.Uri | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder ? vscode.Uri.joinPath(folder, name) : undefined;
}

/** An encoder–decoder analysis as JSON (seq2seqJson): the family on screen, or every map of every family. */
export async function exportSeq2SeqJson(
  client: EngineClient,
  r: Seq2SeqReply,
  view: { family: AttentionFamily; layer: number; head: HeadSelector },
  source: string,
  choice?: { scope: JsonScope; target: vscode.Uri },
): Promise<vscode.Uri | undefined> {
  let scope = choice?.scope;
  if (!scope) {
    const head = typeof view.head === 'number' ? `head ${view.head + 1}` : `${view.head} of heads`;
    const picked = await vscode.window.showQuickPick(
      [
        {
          label: 'The current view',
          description: `${view.family}, layer ${view.layer + 1}, ${head}`,
          scope: 'view' as const,
        },
        { label: 'Every map of the three families', description: 'encoder, decoder and cross', scope: 'all' as const },
      ],
      { title: 'Attention Lens: export encoder–decoder attention as JSON' },
    );
    scope = picked?.scope;
  }
  if (!scope) return undefined;
  const doc = await seq2seqJson(r, { scope, ...view, source }, (family, layer, head) =>
    client.call('familySlice', { analysisId: r.analysisId, family, layer, head }),
  );
  const text = JSON.stringify(doc);
  const uri =
    choice?.target ??
    (await vscode.window.showSaveDialog({
      defaultUri: defaultUri('attention-translation.json'),
      filters: { JSON: ['json'] },
      saveLabel: `Export JSON (${bytes(text.length)})`,
    }));
  if (!uri) return undefined;
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
  return uri;
}
