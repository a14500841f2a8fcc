// Typed access to the `attentionLens.*` settings.
import * as vscode from 'vscode';
import { type DtypeChoice, isDtypeChoice } from '../protocol/dtypes';

/** The settings the engine needs, resolved against the workspace. */
export interface LensSettings {
  model: string;
  dtype: DtypeChoice;
  maxTokens: number;
  /** Continue and Show Attention: tokens to generate, and the sampling temperature (0 = greedy). */
  maxNewTokens: number;
  temperature: number;
  /** Sampling draws among this many most likely tokens (1–50). */
  topK: number;
  /** Texts that end a continuation (besides the model's end of sequence). */
  stopSequences: string[];
  /** Many-to-many translators: source and target language codes ('' = English → French). */
  sourceLanguage: string;
  targetLanguage: string;
  allowRemote: boolean;
  statusBar: boolean;
  /** Largest size of all attention maps of one analysis, in bytes. */
  memoryBudgetBytes: number;
  /** Where downloaded models are cached (the setting, or the extension's global storage). */
  cacheDir: string | undefined;
}

let defaultCacheDir: string | undefined;

/** Sets the cache used when `attentionLens.cacheDir` is empty (called once at activation with global storage). */
export function setDefaultCacheDir(dir: string): void {
  defaultCacheDir = dir;
}

/** What every analysis carries: the engine options, the token limit and the memory budget. */
export function analyzeOptions(s: LensSettings) {
  return { ...engineOptions(s), maxTokens: s.maxTokens, maxAttentionBytes: s.memoryBudgetBytes };
}

/** The part of the settings every engine call carries. */
export function engineOptions(s: LensSettings): {
  model: string;
  dtype: DtypeChoice;
  allowRemote: boolean;
  cacheDir?: string;
} {
  return {
    model: s.model,
    dtype: s.dtype,
    allowRemote: s.allowRemote,
    ...(s.cacheDir ? { cacheDir: s.cacheDir } : {}),
  };
}

/** Reads the current settings; a relative model folder resolves against the first workspace folder. */
export function readSettings(): LensSettings {
  const c = vscode.workspace.getConfiguration('attentionLens');
  let model = c.get<string>('model', 'Xenova/bert-base-uncased').trim();
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (folder && (model.startsWith('./') || model.startsWith('../')))
    model = vscode.Uri.joinPath(vscode.Uri.file(folder), model).fsPath;
  return {
    model,
    dtype: isDtypeChoice(c.get<string>('dtype', 'auto')) ? (c.get<string>('dtype', 'auto') as DtypeChoice) : 'auto',
    maxTokens: Math.max(2, c.get<number>('maxTokens', 512)),
    maxNewTokens: Math.max(1, Math.min(1024, Math.floor(c.get<number>('maxNewTokens', 32)))),
    temperature: Math.max(0, Math.min(10, c.get<number>('temperature', 0))),
    topK: Math.max(1, Math.min(50, Math.floor(c.get<number>('topK', 50)))),
    stopSequences: (c.get<unknown[]>('stopSequences', []) ?? [])
      .filter((x): x is string => typeof x === 'string' && x.length > 0)
      .slice(0, 16),
    sourceLanguage: String(c.get<string>('sourceLanguage', '') ?? '').trim(),
    targetLanguage: String(c.get<string>('targetLanguage', '') ?? '').trim(),
    allowRemote: c.get<boolean>('allowRemoteModels', true),
    statusBar: c.get<boolean>('statusBar.enabled', true),
    cacheDir: c.get<string>('cacheDir', '').trim() || defaultCacheDir,
    memoryBudgetBytes: Math.max(1, c.get<number>('memoryBudgetMB', 1024)) * 2 ** 20,
  };
}

/** When the workspace's `attentionLens.model` overrides the user's own choice: both values, else undefined. */
export function workspaceModelOverride(): { workspace: string; user: string | undefined } | undefined {
  const i = vscode.workspace.getConfiguration('attentionLens').inspect<string>('model');
  const workspace = i?.workspaceFolderValue ?? i?.workspaceValue;
  if (workspace === undefined || workspace === i?.globalValue) return undefined;
  // In an untrusted workspace VS Code ignores the value (restrictedConfigurations): it overrides nothing.
  if (!vscode.workspace.isTrusted) return undefined;
  return { workspace, user: i?.globalValue };
}
