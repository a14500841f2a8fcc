// The lesson's chart for the focus token: its attention as a ranked list of bars, in percent.
import type { TokenInfo } from '../src/protocol/messages';
import { displayText, el } from './dom';
import { topIndices } from './row-math';

/** Bars shown before "all others": enough for the lesson's chart, few enough to fit beside or above the matrix. */
const SHOWN = 8;

/**
 * Renders the ranked bars of `dist` into `host`; returns the top-3 summary for screen readers. `distribution`: the
 * weights sum to 1, so the mass outside the top bars is shown as "all others"; `note` explains when they do not.
 */
export function renderFocusBars(
  host: HTMLElement,
  heading: string,
  tokens: TokenInfo[],
  dist: Float32Array,
  onPeer: (index: number, on: boolean) => void,
  options: { note?: string; distribution?: boolean } = {},
): string {
  const top = topIndices(dist, SHOWN).filter((j) => dist[j] > 0);
  let shownMass = 0;
  const list = el('ol', { class: 'barlist' });
  for (const j of top) {
    const w = dist[j];
    shownMass += w;
    const li = el('li', { 'data-index': String(j) });
    const track = el('span', { class: 'track' });
    const bar = el('span', { class: 'bar' });
    bar.style.width = `${(w * 100).toFixed(1)}%`;
    track.append(bar);
    li.append(
      el('span', { class: 'barname' }, displayText(tokens[j].text)),
      track,
      el('span', { class: 'pct' }, `${(w * 100).toFixed(1)}%`),
    );
    li.addEventListener('mouseenter', () => onPeer(j, true));
    li.addEventListener('mouseleave', () => onPeer(j, false));
    list.append(li);
  }
  const rest = Math.max(0, 1 - shownMass);
  if ((options.distribution ?? true) && top.length === SHOWN && rest > 0.0005)
    list.append(el('li', { class: 'rest' }, `all others: ${(rest * 100).toFixed(1)}%`));
  host.replaceChildren(
    el('h2', {}, heading),
    ...(options.note ? [el('p', { class: 'hint' }, options.note)] : []),
    list,
  );
  return top
    .slice(0, 3)
    .map((j) => `${tokens[j].text} ${(dist[j] * 100).toFixed(0)}%`)
    .join(', ');
}
