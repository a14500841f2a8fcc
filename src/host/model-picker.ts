// Attention Lens: Select Model — curated hub models, cached ones, a local folder, or any model id.
import { isAbsolute } from 'node:path';
import * as vscode from 'vscode';
import { bytes } from './cost';
import { CURATED, cachedModels, describeCurated } from './model-catalog';
import { readSettings, workspaceModelOverride } from './settings';

type Item = vscode.QuickPickItem & { model?: string; action?: 'folder' | 'id' };

/** Shows the picker (or, with `preset`, skips it: 'folder' opens the folder dialog, any other string is a model id). Resolves to the model set, if any. */
export async function selectModel(preset?: unknown): Promise<string | undefined> {
  const settings = readSettings();
  let choice: string | undefined;
  if (preset === 'folder') choice = await pickFolder();
  else if (typeof preset === 'string' && preset.trim()) choice = preset.trim();
  else {
    const cached = cachedModels(settings.cacheDir);
    const items: Item[] = [
      { label: 'Known to work', kind: vscode.QuickPickItemKind.Separator },
      ...CURATED.map((m) => ({
        label: m.id,
        description: describeCurated(
          m,
          cached.some((c) => c.id === m.id),
          settings.allowRemote,
        ),
        detail: m.note,
        model: m.id,
        picked: m.id === settings.model,
      })),
      ...(cached.length ? [{ label: 'In the cache', kind: vscode.QuickPickItemKind.Separator } as Item] : []),
      ...cached
        .filter((c) => !CURATED.some((m) => m.id === c.id))
        .map((c) => ({ label: c.id, description: `${c.files.join(', ')} · ${bytes(c.bytes)}`, model: c.id })),
      { label: 'Other', kind: vscode.QuickPickItemKind.Separator },
      {
        label: '$(folder-opened) Use a local folder…',
        detail: 'config.json, tokenizer.json and onnx/model*.onnx exported without fused attention',
        action: 'folder',
      },
      {
        label: '$(edit) Enter a model id…',
        detail: 'any hub model in the transformers.js layout (an onnx/ folder)',
        action: 'id',
      },
    ];
    const override = workspaceModelOverride();
    const now = override ? `now ${settings.model}, set by this workspace` : `now ${settings.model}`;
    const picked = await vscode.window.showQuickPick(items, {
      title: `Attention Lens: model (${now})`,
      matchOnDescription: true,
    });
    if (!picked) return undefined;
    if (picked.action === 'folder') choice = await pickFolder();
    else if (picked.action === 'id')
      choice = (
        await vscode.window.showInputBox({
          title: 'Hugging Face model id',
          placeHolder: 'Xenova/bert-base-uncased',
          validateInput: (v) => (/^[\w.-]+\/[\w.-]+$/.test(v.trim()) ? undefined : 'owner/name'),
        })
      )?.trim();
    else choice = picked.model;
  }
  if (!choice) return undefined;
  // A hub model that is not here cannot load while downloads are off: say so now, not at the next run.
  const isHubId = !isAbsolute(choice) && !choice.startsWith('.');
  if (isHubId && !settings.allowRemote && !cachedModels(settings.cacheDir).some((c) => c.id === choice)) {
    const answer = await vscode.window.showWarningMessage(
      `Attention Lens: "${choice}" is not in the cache and downloads are off (attentionLens.allowRemoteModels), so it cannot load yet.`,
      { modal: true },
      'Allow Downloads',
      'Use It Anyway',
    );
    if (!answer) return undefined;
    if (answer === 'Allow Downloads') {
      await vscode.workspace
        .getConfiguration('attentionLens')
        .update('allowRemoteModels', true, vscode.ConfigurationTarget.Global);
    }
  }
  // A workspace value would silently win over the user setting: say so, and offer to set it where it counts.
  const override = workspaceModelOverride();
  let target = vscode.ConfigurationTarget.Global;
  if (override) {
    const answer = await vscode.window.showWarningMessage(
      `Attention Lens: this workspace sets attentionLens.model to "${override.workspace}", which overrides your user setting. Use "${choice}" for this workspace instead?`,
      'Set for This Workspace',
      'Set User Setting Only',
    );
    if (!answer) return undefined;
    if (answer === 'Set for This Workspace') target = vscode.ConfigurationTarget.Workspace;
  }
  await vscode.workspace.getConfiguration('attentionLens').update('model', choice, target);
  return choice;
}

async function pickFolder(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Use this model folder',
  });
  return picked?.[0]?.fsPath;
}
