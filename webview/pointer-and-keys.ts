// Mouse and keyboard on the panel: the matrix tooltip and crosshair, leaving the tokens, and the keys that move,
// lock and unlock the focus token.
import { displayText } from './dom';
import type { PanelView } from './panel-view';

/** Wires the pointer and keyboard handlers of the panel. */
export function wirePointerAndKeys(panel: PanelView): void {
  const { heatmap, tooltip, tokensView, tokens, state } = panel;
  const canvas = heatmap.canvas;
  tokensView.addEventListener('mouseleave', () => panel.setFocus(null));
  canvas.addEventListener('mousemove', (ev) => {
    const cell = heatmap.cellAt(ev);
    const s = state.summary;
    // With a token locked the crosshair stays on its row (or column): the tooltip names that same cell.
    const locked = state.locked;
    const at =
      cell && locked !== null
        ? state.direction === 'row'
          ? { row: locked, col: cell.col }
          : { row: cell.row, col: locked }
        : cell;
    const w = at && panel.shownWeight(at.row, at.col);
    if (!cell || !at || !s || w === undefined) {
      tooltip.hidden = true;
      return;
    }
    const masked = s.model.kind === 'causal' && at.col > at.row;
    tooltip.textContent = `query ${displayText(s.tokens[at.row].text)} → key ${displayText(s.tokens[at.col].text)}: ${masked ? 'masked (a future token)' : `${(w * 100).toFixed(2)}%`}`;
    tooltip.hidden = false;
    // Beside the pointer, flipped to its left where it would run past the panel's edge (it was cut off there).
    const room = panel.matrixWrap.clientWidth;
    const right = ev.offsetX + 12 + tooltip.offsetWidth > room;
    tooltip.style.left = `${Math.max(0, right ? ev.offsetX - 12 - tooltip.offsetWidth : ev.offsetX + 12)}px`;
    tooltip.style.top = `${ev.offsetY + 12}px`;
    // The hovered row (or column) becomes the focus token and the other axis its highlighted peer.
    panel.hoverCell(cell);
  });
  canvas.addEventListener('mouseleave', () => {
    tooltip.hidden = true;
    panel.hoverCell(undefined);
  });
  document.addEventListener('keydown', (e) => {
    if (!state.summary) return;
    if (e.key === 'Escape') {
      panel.lock(null);
      return;
    }
    const inTokens = tokensView.contains(document.activeElement);
    if (e.key === 'Enter' && inTokens && panel.focus !== null) {
      panel.lock(panel.focus);
      return;
    }
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      if (!inTokens && document.activeElement !== document.body) return;
      e.preventDefault();
      const order = tokens.order;
      if (!order.length) return;
      const at = panel.focus === null ? -1 : order.indexOf(panel.focus);
      const next = order[Math.max(0, Math.min(order.length - 1, at + (e.key === 'ArrowRight' ? 1 : -1)))];
      panel.lock(next);
      tokens.chip(next)?.focus();
    }
  });
  new ResizeObserver(() => heatmap.draw()).observe(panel.matrixWrap);
}
