// The Attention Lens panel's entry: builds the views, wires input and host messages, and says it is ready.
import type { HostToWebview } from '../src/protocol/messages';
import { handleHostMessage } from './message-handlers';
import { PanelView } from './panel-view';
import { wirePointerAndKeys } from './pointer-and-keys';
import { vscode } from './vscode-api';

const panel = new PanelView(document.getElementById('app')!);
wirePointerAndKeys(panel);
window.addEventListener('message', (event: MessageEvent<HostToWebview>) => handleHostMessage(panel, event.data));

panel.applyView();
const restored = panel.state.summary;
if (restored) {
  // Restored after a reload: show the tokens at once; the host re-runs the text and sends fresh numbers.
  panel.state.summary = undefined;
  panel.showShell(restored);
} else {
  panel.setStatus('Select text in an editor and run "Attention Lens: Show Attention".');
}
vscode.postMessage({ type: 'ready' });
