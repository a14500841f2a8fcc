// The model view: every layer × head as a small heatmap computed downsampled in the worker; click to select.
import { MAX_GRID_HEADS, type ThumbnailsReply } from '../src/protocol/messages';
import { VIRIDIS_LUT } from './color-scale';
import { el } from './dom';
import { maxOf } from './row-math';

/**
 * What the grid shows while the engine finishes the model's pass after a first view (not the last analysis's
 * thumbnails, which would mislead).
 */
export function renderGridPending(host: HTMLElement): void {
  host.setAttribute('aria-busy', 'true');
  host.replaceChildren(
    el('h2', {}, 'All layers × heads'),
    el('p', { class: 'note' }, 'Computing every layer and head (the rest of the model’s pass)…'),
  );
}

/** Renders the grid into `host`; `onSelect` gets the clicked layer and head. */
export function renderThumbnailGrid(
  host: HTMLElement,
  t: ThumbnailsReply,
  onSelect: (layer: number, head: number) => void,
): void {
  host.removeAttribute('aria-busy');
  if (t.size === 0) {
    const total = t.heads.reduce((a, b) => a + b, 0);
    host.replaceChildren(
      el('h2', {}, 'All layers × heads'),
      el(
        'p',
        { class: 'note' },
        `This model has ${total.toLocaleString()} heads; the grid shows at most ${MAX_GRID_HEADS.toLocaleString()}. Choose a layer and head above.`,
      ),
    );
    return;
  }
  const data = new Float32Array(t.buffer);
  const table = el('div', { class: 'gridtable', role: 'grid', 'aria-label': 'layers by heads' });
  const s2 = t.size * t.size;
  let o = 0;
  t.heads.forEach((h, l) => {
    const row = el('div', { class: 'gridrow', role: 'row' });
    row.append(el('span', { class: 'gridlabel' }, `L${l + 1}`));
    for (let k = 0; k < h; k++, o++) {
      const c = el('canvas', {
        class: 'thumb',
        width: String(t.size),
        height: String(t.size),
        title: `layer ${l + 1}, head ${k + 1}`,
        tabindex: '-1',
        role: 'gridcell',
        'aria-label': `layer ${l + 1} head ${k + 1}`,
        'data-layer': String(l),
        'data-head': String(k),
      });
      const img = new ImageData(t.size, t.size);
      const block = data.subarray(o * s2, (o + 1) * s2);
      const scale = 255 / Math.max(maxOf(block), 1e-12);
      for (let i = 0; i < s2; i++) {
        const q = Math.min(255, Math.round(block[i] * scale)) * 3;
        img.data[i * 4] = VIRIDIS_LUT[q];
        img.data[i * 4 + 1] = VIRIDIS_LUT[q + 1];
        img.data[i * 4 + 2] = VIRIDIS_LUT[q + 2];
        img.data[i * 4 + 3] = 255;
      }
      c.getContext('2d')?.putImageData(img, 0, 0);
      c.addEventListener('click', () => onSelect(l, k));
      c.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          onSelect(l, k);
          return;
        }
        // One tab stop for the whole grid; arrows move between thumbnails (rows are layers).
        const move: Record<string, [number, number]> = {
          ArrowLeft: [0, -1],
          ArrowRight: [0, 1],
          ArrowUp: [-1, 0],
          ArrowDown: [1, 0],
        };
        const d = move[e.key];
        if (!d) return;
        e.preventDefault();
        const nl = Math.max(0, Math.min(t.heads.length - 1, l + d[0]));
        const nk = Math.max(0, Math.min(t.heads[nl] - 1, d[0] ? Math.min(k, t.heads[nl] - 1) : k + d[1]));
        const next = host.querySelector<HTMLElement>(`.thumb[data-layer="${nl}"][data-head="${nk}"]`);
        if (next) {
          for (const x of host.querySelectorAll<HTMLElement>('.thumb')) x.tabIndex = -1;
          next.tabIndex = 0;
          next.focus();
        }
      });
      row.append(c);
    }
    table.append(row);
  });
  host.replaceChildren(el('h2', {}, 'All layers × heads (click to select)'), table);
  const first = host.querySelector<HTMLElement>('.thumb');
  if (first) first.tabIndex = 0;
}

/** Outlines the thumbnail of the selected layer and head. */
export function markSelectedThumb(host: HTMLElement, layer: number, head: string): void {
  host.querySelectorAll<HTMLElement>('.thumb').forEach((c) => {
    const on = Number(c.dataset.layer) === layer && c.dataset.head === head;
    c.classList.toggle('selected', on);
    c.setAttribute('aria-selected', String(on));
  });
  // The grid's single tab stop follows the selection.
  const selected = host.querySelector<HTMLElement>('.thumb.selected');
  if (selected) for (const c of host.querySelectorAll<HTMLElement>('.thumb')) c.tabIndex = c === selected ? 0 : -1;
}
