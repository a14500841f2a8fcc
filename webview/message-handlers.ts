// What the panel does with each message from the host.
import type { HostToWebview } from '../src/protocol/messages';
import type { PanelView } from './panel-view';

/** Applies one host message to the panel: a reply goes to the request waiting for it. */
export function handleHostMessage(panel: PanelView, m: HostToWebview): void {
  if ('kind' in m) {
    panel.rpc.receive(m);
    return;
  }
  const state = panel.state;
  switch (m.type) {
    case 'loading':
      panel.setStatus(m.text);
      panel.setTitle(m.title);
      break;
    case 'generating':
      panel.onGenerating(m.text, m.token);
      break;
    case 'liveRows':
      panel.onLiveRows(m.live);
      break;
    case 'analysis':
      panel.startedAt = m.startedAt;
      panel.repliedAt = m.repliedAt;
      panel.receivedAt = Date.now();
      panel.showAnalysis(m.summary, m.sourceLabel, m.sourceText, m.first);
      break;
    case 'seq2seq':
      panel.showSeq2Seq(m.reply, m.sourceLabel);
      break;
    case 'focusFromEditor':
      // An encoder–decoder's source token under the editor cursor: the seq2seq view focuses it.
      if (panel.showsSeq2Seq) {
        panel.focusSourceToken(m.index);
        break;
      }
      // The editor cursor moved onto an analysed token: focus it unless the user locked another.
      if (state.locked === null && state.summary && m.index < state.summary.n) {
        panel.setFocus(m.index);
        panel.tokens.chip(m.index)?.scrollIntoView({ block: 'nearest' });
      }
      break;
    case 'notice':
      panel.setStatus(m.text);
      break;
    case 'lockToken':
      if (state.summary && m.index < state.summary.n) {
        panel.lock(m.index);
        panel.tokens.chip(m.index)?.scrollIntoView({ block: 'nearest' });
      }
      break;
    case 'nextHead':
      panel.nextHead();
      break;
    case 'error':
      panel.onError({ message: m.message });
      break;
    case 'comparison':
      panel.onComparison(m.title, m.heads);
      break;
    case 'runFailed':
      panel.onRunFailed(m.title, m.message, m.actions);
      break;
  }
}
