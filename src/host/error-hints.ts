// What the extension adds to an engine error: the engine speaks of budgets and downloads; the host names the
// VS Code settings and commands that change them (the CLI adds its own flags instead).
import type { EngineError } from '../protocol/rpc';

/** The engine's message with the VS Code way forward for its code, when there is one. */
export function withHostHint(e: Pick<EngineError, 'code' | 'message'>): string {
  if (e.code === 'over-budget' && /budget/.test(e.message)) {
    return `${e.message} (Settings: attentionLens.memoryBudgetMB, attentionLens.maxTokens.)`;
  }
  if (e.code === 'model-not-found' && /downloads are off/.test(e.message)) {
    return `${e.message} (Setting: attentionLens.allowRemoteModels.)`;
  }
  if (e.code === 'unknown-analysis') return `${e.message} Run "Attention Lens: Show Attention" again.`;
  return e.message;
}
