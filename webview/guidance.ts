// Words and small controls that guide: the error box's ways forward, the predict-first verdict, the head legend.
import type { PanelAction, TokenInfo } from '../src/protocol/messages';
import { headColour } from './color-scale';
import { el } from './dom';

const ACTION_LABELS: Record<PanelAction, string> = {
  selectModel: 'Select Model…',
  openSettings: 'Open Setting',
  retry: 'Try Again',
  showLog: 'Show Log',
  insertContinuation: 'Insert Continuation',
  continue: 'Continue',
};

/** A row of buttons for the error box, the first one primary; `run` hears which was clicked. */
export function actionButtons(actions: PanelAction[], run: (action: PanelAction) => void): HTMLElement | undefined {
  if (!actions.length) return undefined;
  const row = el('div', { class: 'actions' });
  for (const a of actions) {
    const b = document.createElement('vscode-button');
    b.textContent = ACTION_LABELS[a];
    b.dataset.action = a;
    if (a !== actions[0]) b.setAttribute('secondary', '');
    b.addEventListener('click', () => run(a));
    row.append(b);
  }
  return row;
}

/** Predict first: how close a guess was, from the query's row (its weight there, and its rank). */
export function guessVerdict(row: Float32Array, tokens: TokenInfo[], query: number, guess: number): string {
  const rank = 1 + Array.from(row).filter((w) => w > row[guess]).length;
  const top = row.indexOf(Math.max(...row));
  const pct = (w: number) => `${(w * 100).toFixed(1)}%`;
  const verdict =
    rank === 1 ? 'Spot on: that is where it looks most.' : `The most is "${tokens[top].text}" (${pct(row[top])}).`;
  return `Your guess "${tokens[guess].text}" gets ${pct(row[guess])} of "${tokens[query].text}"'s attention: rank ${rank} of ${tokens.length}. ${verdict}`;
}

/** The "all heads" legend: a swatch per head that selects it. */
export function headLegendItems(heads: number, select: (head: number) => void): HTMLElement[] {
  return Array.from({ length: heads }, (_, k) => {
    const [r, g, b] = headColour(k);
    const key = el('button', { class: 'head-key', 'data-head': String(k), title: `show head ${k + 1} alone` });
    const sw = el('span', { class: 'swatch' });
    sw.style.background = `rgb(${r},${g},${b})`;
    key.append(sw, document.createTextNode(`head ${k + 1}`));
    key.addEventListener('click', () => select(k));
    return key;
  });
}
