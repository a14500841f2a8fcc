// The token chips: rendering, the focus/peer marks, and shading by one distribution (one hue) or by every
// head's (one stripe per head). Hover touches only the chips it keeps, never querying the DOM.
import type { TokenInfo } from '../src/protocol/messages';
import { headColour } from './color-scale';
import { displayText, el } from './dom';
import { maxOf } from './row-math';
import { blend, parseRgb, type Rgb, readableText } from './contrast';

/** The one hue of single-distribution shading (sky blue: reads on light, dark and high-contrast themes). */
const SHADE: Rgb = [86, 180, 233];

/** The chip strip of the panel. */
export class TokenView {
  private chips: HTMLElement[] = [];
  private byIndex: (HTMLElement | undefined)[] = [];
  private marked: HTMLElement[] = [];
  /** How the chips are shaded now: one hue, a stripe per head, or not at all. */
  private shaded: 'one' | 'heads' | false = false;

  constructor(
    readonly element: HTMLElement,
    private readonly onHover: (index: number) => void,
    private readonly onClick: (index: number) => void,
  ) {}

  /** Renders a chip per visible token. */
  render(tokens: TokenInfo[], hidden: boolean[]): void {
    const chips: HTMLElement[] = [];
    tokens.forEach((t, i) => {
      if (hidden[i]) return;
      const c = el(
        'span',
        {
          class: `token${t.special ? ' special' : ''}${t.generated ? ' generated' : ''}`,
          'data-index': String(i),
          role: 'button',
          tabindex: '-1',
          'aria-label': `${t.generated ? 'generated ' : ''}token ${i + 1}: ${t.text}`,
        },
        displayText(t.text),
      );
      c.addEventListener('mouseenter', () => this.onHover(i));
      c.addEventListener('click', () => this.onClick(i));
      chips.push(c);
    });
    this.element.replaceChildren(...chips);
    this.chips = chips;
    this.byIndex = [];
    for (const c of chips) this.byIndex[Number(c.dataset.index)] = c;
    this.marked = [];
    this.shaded = false;
  }

  /** The chip of token `i`, if shown. */
  chip(i: number): HTMLElement | undefined {
    return this.byIndex[i];
  }

  /** Token indices of the visible chips, in order. */
  get order(): number[] {
    return this.chips.map((c) => Number(c.dataset.index));
  }

  /** Outlines the focus token and dashes its peer (the key under the mouse in the matrix). */
  mark(focus: number | null, peer: number | null): void {
    for (const c of this.marked) c.classList.remove('focus', 'peer');
    this.marked = [];
    const f = focus === null ? undefined : this.chip(focus);
    const p = peer === null ? undefined : this.chip(peer);
    if (f) {
      f.classList.add('focus');
      this.marked.push(f);
    }
    if (p) {
      p.classList.add('peer');
      this.marked.push(p);
    }
  }

  /** Removes all shading. */
  clear(): void {
    if (!this.shaded) return;
    for (const c of this.chips) {
      c.style.backgroundColor = '';
      c.style.backgroundImage = '';
      c.style.backgroundSize = '';
      c.style.backgroundPosition = '';
      c.style.backgroundRepeat = '';
      c.style.color = '';
      c.removeAttribute('data-weight');
      c.removeAttribute('data-weights');
    }
    this.shaded = false;
  }

  /** One hue, opacity = `shade` relative to its largest value (readable on light, dark and high-contrast themes); `weights` go to data-weight. */
  shadeOne(weights: Float32Array, shade: Float32Array): void {
    if (this.shaded === 'heads') this.clear();
    const max = Math.max(maxOf(shade), 1e-12);
    // The text of a strongly shaded chip switches to black or white where the theme's own text would fall under
    // 4.5:1 (1.4:1 on the darkest theme before). The theme's colours are cached: reading computed style on every
    // hover forced a style recalculation of every chip (hover p95 at N = 512 went from 3 to 9 ms).
    const textFor = themeColours().textFor;
    for (const c of this.chips) {
      const j = Number(c.dataset.index);
      const alpha = Number((shade[j] / max).toFixed(4));
      c.dataset.weight = weights[j].toFixed(6);
      c.style.backgroundColor = `rgba(${SHADE.join(',')},${alpha})`;
      // Written only when it changes: a style write per chip per hover cost ~2.5 ms at N = 512.
      const colour = textFor[Math.round(alpha * 100)];
      if (c.style.color !== colour) c.style.color = colour;
    }
    this.shaded = 'one';
  }

  /** A stripe per head in that head's colour, opacity = the head's weight relative to its largest; `per` is heads × N. */
  shadeHeads(per: Float32Array, heads: number, n: number): void {
    if (this.shaded === 'one') this.clear();
    const max = Array.from({ length: heads }, (_, k) => Math.max(maxOf(per.subarray(k * n, (k + 1) * n)), 1e-12));
    for (const c of this.chips) {
      const j = Number(c.dataset.index);
      const stops: string[] = [];
      const weights: string[] = [];
      for (let k = 0; k < heads; k++) {
        const [r, g, b] = headColour(k);
        const a = per[k * n + j] / max[k];
        stops.push(
          `rgba(${r},${g},${b},${a.toFixed(3)}) ${((k / heads) * 100).toFixed(2)}% ${(((k + 1) / heads) * 100).toFixed(2)}%`,
        );
        weights.push(per[k * n + j].toFixed(6));
      }
      c.dataset.weights = weights.join(',');
      // A band under the letters, not behind them: the text keeps the theme's contrast.
      c.style.backgroundImage = `linear-gradient(90deg, ${stops.join(', ')})`;
      c.style.backgroundSize = '100% 6px';
      c.style.backgroundPosition = 'bottom';
      c.style.backgroundRepeat = 'no-repeat';
    }
    this.shaded = 'heads';
  }
}

let theme: { textFor: string[] } | undefined;
let watching = false;

/**
 * For each shade (opacity 0.00–1.00 in hundredths), the chip text colour that reads at 4.5:1 on it: '' (the
 * theme's own) or black/white. Computed from the panel's colours once, and again only when VS Code changes the theme.
 */
function themeColours(): { textFor: string[] } {
  if (!theme) {
    const body = getComputedStyle(document.body);
    const base: Rgb = parseRgb(body.backgroundColor) ?? [255, 255, 255];
    const text: Rgb = parseRgb(body.color) ?? [0, 0, 0];
    const textFor = Array.from({ length: 101 }, (_, k) => {
      const readable = readableText(text, blend(SHADE, k / 100, base));
      return readable === text ? '' : `rgb(${readable.join(', ')})`;
    });
    theme = { textFor };
  }
  if (!watching) {
    watching = true;
    // A theme change rewrites the body's class and style (its CSS variables): read the colours anew after it.
    new MutationObserver(() => {
      theme = undefined;
    }).observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });
  }
  return theme;
}
