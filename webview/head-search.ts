// Head search: rank every layer × head by the attention from one token to another, or by a preset that names a
// common head type (previous token, first token, itself). Clicking a result selects that head.
import type { FlipScore, HeadScore, RankBy, TokenInfo } from '../src/protocol/messages';
import { makeSelect, setChoices } from './controls';
import { displayText, el } from './dom';

const SHOWN = 10;
const PRESETS: { by: RankBy; label: string; name: string }[] = [
  { by: { kind: 'previous' }, label: 'previous token', name: 'previous-token heads' },
  { by: { kind: 'first' }, label: 'first token', name: 'heads resting on the first token ([CLS] / BOS)' },
  { by: { kind: 'self' }, label: 'itself', name: 'self-attending heads' },
];

/** The head-search section; `ask` sends a ranking request, `select` picks a head. */
export class HeadSearch {
  readonly element = el('section', { class: 'search', 'aria-label': 'Find heads' });
  private readonly from = makeSelect('search-from', 'From', () => undefined);
  private readonly to = makeSelect('search-to', 'to', () => undefined);
  private readonly results = el('div', { class: 'ranking', 'aria-live': 'polite' });

  constructor(
    private readonly ask: (by: RankBy) => void,
    private readonly select: (layer: number, head: number) => void,
  ) {
    const go = document.createElement('vscode-button');
    go.id = 'search-go';
    go.textContent = 'Rank heads';
    go.addEventListener('click', () =>
      this.ask({ kind: 'pair', query: Number(this.from.select.value), key: Number(this.to.select.value) }),
    );
    const presets = el('div', { class: 'presets' }, 'Or heads that attend most to the ');
    PRESETS.forEach((p, i) => {
      const b = document.createElement('vscode-button');
      b.setAttribute('secondary', '');
      b.dataset.preset = p.by.kind;
      b.textContent = p.label;
      b.addEventListener('click', () => this.ask(p.by));
      presets.append(b, document.createTextNode(i < PRESETS.length - 1 ? ' ' : ''));
    });
    // The section sits at the bottom of the panel: its lists open upwards so they are not clipped.
    this.from.select.position = 'above';
    this.to.select.position = 'above';
    const row = el('div', { class: 'search-row' });
    row.append(this.from.wrap, this.to.wrap, go);
    this.element.append(el('h2', {}, 'Find heads'), row, presets, this.results);
  }

  /**
   * New tokens: refill the token choices. From defaults to the locked token, else the first word; To to the first
   * other word (both used to start on "1: The", a pair that says nothing).
   */
  setTokens(tokens: TokenInfo[], query: number | null): void {
    const choices = tokens.map((t, i) => ({ value: String(i), label: `${i + 1}: ${displayText(t.text)}` }));
    const words = tokens.map((t, i) => (t.special ? -1 : i)).filter((i) => i >= 0);
    const from = query ?? words[0] ?? 0;
    const to = words.find((i) => i !== from) ?? (from === 0 ? Math.min(1, tokens.length - 1) : 0);
    setChoices(this.from.select, choices, String(from));
    setChoices(this.to.select, choices, String(to));
    this.results.replaceChildren();
  }

  /** Sets the query token (when the focus is locked). */
  setQuery(index: number): void {
    this.from.select.value = String(index);
  }

  /**
   * Shows heads ranked by how much their choice flips between two texts: the flip in percentage points, with the
   * difference in each text (positive = towards the first candidate).
   */
  showComparison(title: string, heads: FlipScore[]): void {
    const pts = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v * 100).toFixed(1)}`;
    this.list(title, heads, (h) => `${pts(h.score)} pts (A ${pts(h.a)}, B ${pts(h.b)})`, 'comparison');
    this.element.scrollIntoView({ block: 'nearest' });
  }

  /** Shows a ranking reply. */
  show(by: RankBy, heads: HeadScore[], tokens: TokenInfo[]): void {
    const title =
      by.kind === 'pair'
        ? `Heads by attention from "${tokens[by.query]?.text}" to "${tokens[by.key]?.text}"`
        : `Top ${PRESETS.find((p) => p.by.kind === by.kind)?.name ?? ''}`;
    this.list(title, heads, (h) => `${(h.weight * 100).toFixed(1)}%`);
  }

  /** The top heads as buttons that select them, each with its figure. */
  private list<H extends { layer: number; head: number }>(
    title: string,
    heads: H[],
    figure: (h: H) => string,
    kind = '',
  ): void {
    const list = el('ol', { class: `ranklist ${kind}`.trim() });
    for (const h of heads.slice(0, SHOWN)) {
      const item = el('li');
      const b = el(
        'button',
        { class: 'rank', 'data-layer': String(h.layer), 'data-head': String(h.head) },
        `layer ${h.layer + 1} · head ${h.head + 1}`,
      );
      b.addEventListener('click', () => this.select(h.layer, h.head));
      item.append(b, el('span', { class: 'pct' }, figure(h)));
      list.append(item);
    }
    this.results.replaceChildren(el('h3', {}, title), list);
  }
}
