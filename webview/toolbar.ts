// The panel's control row: view, layer (incl. rollout), head (incl. all / mean / max), direction, Keep, hide
// special tokens, and the two exports. It edits the view state and tells the panel what changed.
import type { AnalysisSummary } from '../src/protocol/messages';
import { makeCheckbox, makeSelect, setChoices } from './controls';
import { el } from './dom';
import { KEEP_CHOICES, type ViewState } from './view-state';

/** What the toolbar asks of the panel after it changed the state. */
export interface ToolbarActions {
  /** Layer, rollout or head changed: fetch the new matrix. */
  viewChanged(): void;
  /** Row/column changed. */
  directionChanged(): void;
  /** Keep threshold or hidden tokens changed: recompute what is shown. */
  filterChanged(hiddenChanged: boolean): void;
  /** Which views are on screen changed. */
  layoutChanged(): void;
  /** Predict-first mode turned on or off. */
  predictChanged(): void;
  exportPng(): void;
  exportJson(): void;
}

/** The control row, bound to one view state. */
export class Toolbar {
  readonly element = el('div', { class: 'controls', role: 'toolbar', 'aria-label': 'View controls' });
  private readonly layer;
  private readonly head;
  private readonly hide: HTMLElement;

  constructor(
    private readonly state: ViewState,
    actions: ToolbarActions,
  ) {
    this.layer = makeSelect('layer', 'Layer', (v) => {
      state.rollout = v.startsWith('r');
      state.layer = Number(v.replace('r', ''));
      this.fillHeads();
      actions.viewChanged();
    });
    this.head = makeSelect('head', 'Head', (v) => {
      state.head = v === 'mean' || v === 'max' || v === 'all' ? v : Number(v);
      actions.viewChanged();
    });
    const direction = makeSelect('direction', 'Show', (v) => {
      state.direction = v === 'column' ? 'column' : 'row';
      actions.directionChanged();
    });
    const keep = makeSelect('threshold', 'Keep', (v) => {
      state.keep = Number(v);
      actions.filterChanged(false);
    });
    const view = makeSelect('view', 'View', (v) => {
      state.view = v === 'tokens' || v === 'matrix' || v === 'grid' ? v : 'all';
      actions.layoutChanged();
    });
    const hide = makeCheckbox('hide-special', 'hide special tokens', (on) => {
      state.hideSpecial = on;
      actions.filterChanged(true);
    });
    const predict = makeCheckbox('predict-first', 'predict first', (on) => {
      state.predict = on;
      actions.predictChanged();
    });
    predict.checked = state.predict;
    const png = button('export-png', 'PNG', () => actions.exportPng());
    const json = button('export-json', 'JSON…', () => actions.exportJson());
    // Every control says what it does (issue 21: rollout, Keep, row/column and mean/max were unexplained).
    const tips: [HTMLElement, string][] = [
      [view.wrap, 'Which views to show: everything, or tokens / matrix / layer × head grid with the focus bars'],
      [
        this.layer.wrap,
        'The layer whose heads are shown; "rollout through k" multiplies the head-averaged attention of layers 1…k (with the residual path) to show where information flows from',
      ],
      [
        this.head.wrap,
        'One head; every head at once as coloured stripes; or the mean / element-wise max over the heads',
      ],
      [
        direction.wrap,
        'Row: the attention the focus token pays to every token. Column: the attention every token pays to it',
      ],
      [
        keep.wrap,
        "Show only each row's largest weights that together make up this share of its attention; the rest is greyed",
      ],
      [hide, 'Hide [CLS], [SEP], BOS/EOS and renormalise each row over the remaining tokens'],
      [predict, 'Click a token, then click where you think it looks; the panel then shows how close you were'],
      [png, 'Save the matrix as drawn, with its title and legend'],
      [json, 'Save this view, or every layer × head, as JSON'],
    ];
    for (const [el, tip] of tips) el.title = tip;
    this.hide = hide;
    // One compact row: layer and head, and the rest behind "More" (the row took four lines in a narrow panel).
    const more = el('div', {
      class: 'controls-more',
      id: 'more-controls',
      role: 'group',
      'aria-label': 'More view controls',
    });
    more.hidden = true;
    more.append(view.wrap, direction.wrap, keep.wrap, hide, predict, png, json);
    const toggle = button('more-toggle', 'More ▾', () => {
      more.hidden = !more.hidden;
      toggle.setAttribute('aria-expanded', String(!more.hidden));
      toggle.textContent = more.hidden ? 'More ▾' : 'Less ▴';
    });
    toggle.setAttribute('aria-controls', 'more-controls');
    toggle.setAttribute('aria-expanded', 'false');
    toggle.title = 'View, row/column, Keep, special tokens, export';
    this.element.append(this.layer.wrap, this.head.wrap, toggle, more);
    setChoices(
      direction.select,
      [
        { value: 'row', label: 'attention paid (row)' },
        { value: 'column', label: 'attention received (column)' },
      ],
      state.direction,
    );
    setChoices(
      keep.select,
      KEEP_CHOICES.map((k) => ({ value: String(k), label: k === 1 ? 'all weights' : `top ${k * 100}% of each row` })),
      String(state.keep),
    );
    hide.checked = state.hideSpecial;
    setChoices(
      view.select,
      [
        { value: 'all', label: 'everything' },
        { value: 'tokens', label: 'tokens + bars' },
        { value: 'matrix', label: 'matrix + bars' },
        { value: 'grid', label: 'layers × heads' },
      ],
      state.view,
    );
  }

  /** Fills the layer and head choices for a model. */
  fillSelectors(s: AnalysisSummary): void {
    const state = this.state;
    // Only a model with special tokens needs the control that hides them.
    this.hide.hidden = !s.tokens.some((t) => t.special);
    state.layer = Math.min(state.layer, s.model.layers - 1);
    setChoices(
      this.layer.select,
      [
        ...Array.from({ length: s.model.layers }, (_, l) => ({
          value: String(l),
          label: `${l + 1} of ${s.model.layers}`,
        })),
        ...Array.from({ length: s.model.layers }, (_, l) => ({ value: `r${l}`, label: `rollout through ${l + 1}` })),
      ],
      `${state.rollout ? 'r' : ''}${state.layer}`,
    );
    this.fillHeads();
  }

  /** Shows the state's layer (after a selection elsewhere: grid, legend, head search). */
  showLayer(): void {
    this.layer.select.value = String(this.state.layer);
    this.fillHeads();
  }

  private fillHeads(): void {
    const state = this.state;
    const s = state.summary;
    if (!s) return;
    const h = s.model.heads[state.layer];
    if (typeof state.head === 'number' && state.head >= h) state.head = 0;
    setChoices(
      this.head.select,
      [
        ...Array.from({ length: h }, (_, k) => ({ value: String(k), label: `head ${k + 1}` })),
        { value: 'all', label: 'all heads (a colour each)' },
        { value: 'mean', label: 'mean of heads' },
        { value: 'max', label: 'max of heads' },
      ],
      String(state.head),
    );
    // Rollout already averages the heads of every layer: say so instead of showing a head that does not apply.
    if (state.rollout) {
      setChoices(this.head.select, [{ value: 'rollout', label: 'averaged (rollout)' }], 'rollout');
    }
    this.head.select.disabled = state.rollout;
  }
}

function button(id: string, label: string, onClick: () => void): HTMLElement {
  const b = document.createElement('vscode-button');
  b.id = id;
  b.setAttribute('secondary', '');
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}
