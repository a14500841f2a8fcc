// A typed wrapper of acquireVsCodeApi: messages use the shared protocol.
import type { WebviewToHost } from '../src/protocol/messages';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** The one handle on the host (acquireVsCodeApi may be called once). */
export const vscode: VsCodeApi = acquireVsCodeApi();
