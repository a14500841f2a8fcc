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
    const w = cell && panel.shownWeight(cell.row, cell.col);
    if (!cell || !s || w === undefined) {
      tooltip.hidden = true;
      return;
    }
    const masked = s.model.kind === 'causal' && cell.col > cell.row;
    tooltip.textContent = `query ${displayText(s.tokens[cell.row].text)} → key ${displayText(s.tokens[cell.col].text)}: ${masked ? 'masked (a future token)' : `${(w * 100).toFixed(2)}%`}`;
    tooltip.hidden = false;
    tooltip.style.left = `${ev.offsetX + 12}px`;
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
