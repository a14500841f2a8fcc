// While Continue and Show Attention runs, the panel shows the prompt and each token as the model writes it, and the
// watched head's matrix grows by one row per token (the engine streams the rows; see LiveRowsEvent). The finished
// analysis replaces this view; until then the chips and the matrix are out of reach (class `writing`).
import type { LiveRowsEvent, TokenInfo } from '../src/protocol/messages';
import { displayText } from './dom';
import type { Heatmap } from './heatmap';
import type { TokenView } from './token-view';

/** The growing matrix and token strip of one continuation. */
export class LiveWriting {
  private tokens: TokenInfo[] = [];
  private matrix = new Float32Array(0);
  private n = 0;
  /** The watched view, for the panel's line ("layer 2, head 1"). */
  view: { layer: number; head: LiveRowsEvent['live']['head'] } | undefined;

  constructor(
    private readonly strip: TokenView,
    private readonly heatmap: Heatmap,
  ) {}

  /** Rows [from, to) arrived: the prompt's (a fresh start) or one new token's. */
  addRows(live: LiveRowsEvent['live']): void {
    const rows = new Float32Array(live.buffer);
    if (live.tokens) {
      this.tokens = live.tokens.slice();
      this.matrix = new Float32Array(live.to * live.to);
      this.n = live.to;
      this.view = { layer: live.layer, head: live.head };
    } else if (live.to > this.n) {
      // Grow the square: the old rows keep their weights; their new columns are future keys (0).
      const grown = new Float32Array(live.to * live.to);
      for (let q = 0; q < this.n; q++) grown.set(this.matrix.subarray(q * this.n, (q + 1) * this.n), q * live.to);
      this.matrix = grown;
      this.n = live.to;
    }
    this.matrix.set(rows.subarray(0, (live.to - live.from) * this.n), live.from * this.n);
    this.draw();
  }

  /** A token the model just wrote (its rows follow once it is fed back). */
  addToken(token: { text: string; index: number }): void {
    if (!this.view) return;
    this.tokens.push({ text: token.text, id: -1, start: null, end: null, special: false, generated: true });
    this.strip.render(this.tokens, []);
  }

  /** Tokens so far (prompt + written). */
  get count(): number {
    return this.tokens.length;
  }

  /** Forgets the run (the finished analysis or an error took over). */
  reset(): void {
    this.tokens = [];
    this.matrix = new Float32Array(0);
    this.n = 0;
    this.view = undefined;
  }

  private draw(): void {
    this.strip.render(this.tokens, []);
    const labels = this.tokens.slice(0, this.n).map((t) => displayText(t.text).slice(0, 14));
    this.heatmap.set(this.matrix, this.n, true, new Array(this.n).fill(false), labels);
    const head = typeof this.view?.head === 'number' ? `head ${this.view.head}` : `${this.view?.head} of heads`;
    this.heatmap.canvas.setAttribute(
      'aria-label',
      `attention heatmap while the model writes, layer ${this.view?.layer}, ${head}, ${this.n} by ${this.n}`,
    );
    // How many rows the live matrix has (tests and benchmarks read it).
    document.body.dataset.liveRows = String(this.n);
  }
}
