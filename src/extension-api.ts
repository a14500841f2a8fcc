// The API activate() returns: what tests (and other extensions) may read and drive. One declaration, so the
// integration tests use the real types instead of re-declaring shapes.
import type * as vscode from 'vscode';
import type { EngineClient } from './host/engine-client';
import type { HeatState } from './host/editor-heat';
import type { StatusBarState } from './host/status-bar';
import type { HostToWebview } from './protocol/messages';

/** The Attention Lens extension's exports. */
export interface AttentionLensApi {
  /** The analysis engine (its own process). */
  client: EngineClient;
  /** The token-counting engine of the status bar (its own process). */
  counter: EngineClient;
  statusBarText(): string | undefined;
  statusBarState(): StatusBarState;
  /** The status item's tooltip as markdown source. */
  statusBarTooltip(): string;
  /** Drive the panel as its webview would, and read what it did. */
  panel: {
    receive(message: unknown): Promise<void> | undefined;
    heat(): HeatState | undefined;
    lastPosted(): HostToWebview | undefined;
    /** Where the next export goes, instead of the save dialog. */
    exportTo(uri: vscode.Uri, scope: 'view' | 'all'): void;
  };
}
