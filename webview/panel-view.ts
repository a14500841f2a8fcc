// The panel's views and what links them: token chips, the matrix, focus bars, the head legend and the layer × head
// grid, all driven by one view state. Token text reaches the DOM only through textContent (see dom.ts) or canvas
// fillText.
import type {
  AnalysisSummary,
  Direction,
  FlipScore,
  HeadSelector,
  LiveRowsEvent,
  LogitLensReply,
  PanelAction,
  PanelApi,
  RowsReply,
  Seq2SeqReply,
  FirstView,
  SliceReply,
  ThumbnailsReply,
} from '../src/protocol/messages';
import { displayText, el } from './dom';
import { matrixPng } from './export-png';
import { expectedList, renderContinuation } from './continuation';
import { actionButtons, guessVerdict, headLegendItems } from './guidance';
import { renderFocusBars } from './focus-bars';
import { HeadSearch } from './head-search';
import { Heatmap } from './heatmap';
import { LatestRequest } from './latest-request';
import { LiveWriting } from './live-writing';
import { Seq2SeqView } from './seq2seq-view';
import { LongView } from './long-view';
import { focusDistribution, keepTopMass, normaliseRows, renormalise } from './row-math';
import { markSelectedThumb, renderGridPending, renderThumbnailGrid } from './thumbnail-grid';
import { TokenView } from './token-view';
import { Toolbar } from './toolbar';
import {
  allHeads,
  currentSelector,
  hiddenMask,
  loadViewState,
  refind,
  saveViewState,
  type ViewState,
  viewName,
} from './view-state';
import { vscode } from './vscode-api';
import { truncationNote } from '../src/protocol/format';
import { type EngineError, RpcClient } from '../src/protocol/rpc';

/** Side of the layer × head thumbnails asked of the engine. */
const THUMB = 24;
/**
 * How long the panel waits for an answer from the host before it says so. After a first view the grid, other
 * layers and head search wait for the rest of the model's pass, which may be as long as an analysis: the host's
 * own per-method limits (engine-client.ts) are what stop a hung engine.
 */
const REQUEST_TIMEOUT_MS = 10 * 60_000;

/** Every view of the panel, built into `app`. */
export class PanelView {
  readonly state: ViewState = loadViewState();
  /** The slice as received, with hidden tokens renormalised away, and after the threshold. */
  private raw: Float32Array | undefined;
  private visible: Float32Array | undefined;
  private shown: Float32Array | undefined;
  private headRows: { key: string; heads: number; data: Float32Array } | undefined;
  /** Predict first: the token asked about, waiting for the learner's guess. */
  private predicting: number | null = null;
  /** The focus token (hovered or locked) and the highlighted peer on the other axis. */
  focus: number | null = this.state.locked;
  private peer: number | null = null;
  /** What the editor was last told to highlight, so a moving mouse inside one cell sends nothing. */
  private lastHeat = '';

  private readonly status = el('div', { class: 'status', role: 'status' });
  private readonly continuation = el('section', { class: 'continuation', 'aria-label': 'Continuation' });
  private readonly title = el('h1', {}, 'Attention Lens');
  private readonly meta = el('div', { class: 'meta' });
  private readonly headLegend = el('div', { class: 'head-legend', 'aria-label': 'Head colours' });
  readonly tokensView = el('section', {
    class: 'tokens',
    'aria-label': 'Tokens: hover, or focus here and use the arrow keys; Enter or click locks, Esc unlocks',
    tabindex: '0',
  });
  readonly matrixWrap = el('section', {
    class: 'matrix',
    'aria-label': 'Attention matrix: query tokens down the side, key tokens across',
  });
  readonly tooltip = el('div', { class: 'tooltip', role: 'tooltip' });
  private readonly bars = el('section', { class: 'bars', 'aria-label': 'Focus token attention' });
  private readonly grid = el('section', { class: 'grid', 'aria-label': 'Every layer and head' });
  private readonly live = el('div', { class: 'sr-only', 'aria-live': 'polite' });
  private readonly toolbar: Toolbar;
  private readonly search: HeadSearch;
  readonly tokens: TokenView;
  readonly heatmap: Heatmap;
  private readonly writing: LiveWriting;
  private readonly seq2seq: Seq2SeqView;
  readonly long: LongView;
  /** Date.now() in the host when the command of the analysis on its way started. */
  startedAt: number | undefined;
  /** Date.now() in the host when the engine's reply came: the paint's time splits into engine + host, then panel. */
  repliedAt: number | undefined;
  /** Date.now() here when the analysis message arrived: the panel's own part of that time. */
  receivedAt: number | undefined;
  /** Logit lens replies of the analysis on display, by token index. */
  private readonly lens = new Map<number, LogitLensReply | 'waiting'>();
  /** The panel API on the host: the engine's own request/reply dialect (ids, errors as data, timeouts). */
  readonly rpc = new RpcClient<PanelApi>((m) => vscode.postMessage(m));
  // A fast user may ask again before an answer comes: only the answer to the newest wish is drawn.
  private readonly slices = new LatestRequest(
    (p: { analysisId: number; layer: number; head: HeadSelector }) => this.rpc.call('slice', p, REQUEST_TIMEOUT_MS),
    (slice: SliceReply) => this.onSlice(slice),
    (e) => this.onError(e),
  );
  private readonly rows = new LatestRequest(
    (p: { analysisId: number; layer: number; index: number; direction: Direction }) =>
      this.rpc.call('rows', p, REQUEST_TIMEOUT_MS),
    (r: RowsReply) => this.onRows(r),
    (e) => this.onError(e),
  );

  constructor(private readonly app: HTMLElement) {
    const state = this.state;
    this.toolbar = new Toolbar(state, {
      viewChanged: () => this.changedView(),
      directionChanged: () => {
        this.headRows = undefined;
        this.save();
        this.renderShading();
      },
      filterChanged: (hiddenChanged) => {
        this.save();
        if (!hiddenChanged) this.reprocess();
        else if (state.summary) {
          this.renderTokens();
          this.reprocess();
        }
      },
      layoutChanged: () => {
        this.applyView();
        this.save();
      },
      predictChanged: () => {
        this.predicting = null;
        this.save();
        this.renderShading();
      },
      exportPng: () => this.exportPng(),
      exportJson: () => {
        if (state.summary) {
          vscode.postMessage({
            type: 'exportJson',
            analysisId: state.summary.analysisId,
            layer: state.layer,
            head: currentSelector(state),
          });
        }
      },
    });
    const header = el('header');
    header.append(this.title, this.meta, this.toolbar.element);
    const main = el('div', { class: 'main' });
    this.tooltip.hidden = true;
    const legend = el('div', { class: 'legend', 'aria-hidden': 'true' });
    legend.append(
      el('span', {}, 'low'),
      el('span', { class: 'ramp' }),
      el('span', {}, 'high (relative to the matrix maximum) · grey = masked (future), hidden, or below Keep'),
    );
    this.matrixWrap.append(this.tooltip, legend);
    main.append(this.matrixWrap);
    // The focus token's bars sit beside the chips, under a one-line hint: at 1000×700 the tokens, the bars and the
    // first rows of the matrix are in view without scrolling (they were a tall column before).
    const hint = el(
      'p',
      { class: 'hint lead' },
      'Hover a token to see where its attention goes · click locks it, Esc unlocks, ← → move.',
    );
    const focusRow = el('div', { class: 'focus-row' });
    focusRow.append(this.tokensView, this.bars);
    this.search = new HeadSearch(
      (by) => {
        const s = state.summary;
        if (!s) return;
        this.rpc.call('rankHeads', { analysisId: s.analysisId, by }, REQUEST_TIMEOUT_MS).then(
          ({ heads }) => {
            if (state.summary?.analysisId === s.analysisId) this.search.show(by, heads, s.tokens);
          },
          (e: EngineError) => this.onError(e),
        );
      },
      (layer, head) => {
        this.selectHead(layer, head);
        // The result list is below the matrix: bring the changed matrix into view.
        this.matrixWrap.scrollIntoView({ block: 'nearest' });
      },
    );
    app.append(
      header,
      this.status,
      this.continuation,
      this.headLegend,
      hint,
      focusRow,
      main,
      this.grid,
      this.search.element,
      this.live,
    );
    this.tokens = new TokenView(
      this.tokensView,
      (i) => this.setFocus(i),
      (i) => this.clickToken(i),
    );
    this.heatmap = new Heatmap(this.matrixWrap, () => Math.max(200, Math.min(600, this.matrixWrap.clientWidth || 420)));
    this.writing = new LiveWriting(this.tokens, this.heatmap);
    this.seq2seq = new Seq2SeqView(this.rpc, (e) => this.onError(e));
    this.long = new LongView(this.rpc, (e) => this.onError(e));
    app.append(this.seq2seq.element, this.long.element);
  }

  /** Whether the encoder–decoder view is on screen. */
  get showsSeq2Seq(): boolean {
    return this.app.dataset.mode === 'seq2seq';
  }

  /** Focuses a source token of the encoder–decoder view (the editor cursor is on it). */
  focusSourceToken(index: number): void {
    this.seq2seq.focusSource(index);
  }

  /** A long analysis (no full maps kept): the long view takes the place of the matrix views. */
  private showLong(s: AnalysisSummary, sourceLabel: string, first?: FirstView): void {
    this.endWriting();
    this.app.classList.remove('stale');
    this.app.dataset.mode = 'long';
    this.state.summary = s;
    this.setTitle(sourceLabel);
    const m = s.model;
    this.meta.title = m.id;
    this.meta.textContent = `${m.id.split(/[\\/]/).pop()} · ${m.kind} · ${m.layers} layers × ${m.heads[0]} heads · ${m.dtype} · N = ${s.n.toLocaleString()}`;
    this.setStatus(
      s.truncated
        ? `Analysed characters ${s.analysedFrom.toLocaleString()}–${s.analysedChars.toLocaleString()} of ${s.totalChars.toLocaleString()} (the model reads ${m.maxPositions.toLocaleString()} tokens at once).`
        : `Analysed the whole text (${s.totalChars.toLocaleString()} characters).`,
    );
    this.long.startedAt = this.startedAt;
    this.long.show(s, first);
  }

  /** An encoder–decoder analysis: the seq2seq view takes the place of the decoder-only views. */
  showSeq2Seq(reply: Seq2SeqReply, sourceLabel: string): void {
    this.endWriting();
    this.app.classList.remove('stale');
    this.app.dataset.mode = 'seq2seq';
    this.setTitle(sourceLabel);
    const m = reply.model;
    const S = reply.tokens.length;
    const T = reply.targetTokens.length;
    this.meta.title = m.id;
    this.meta.textContent =
      `${m.id.split(/[\\/]/).pop()} · encoder–decoder · ${m.layers.encoder} + ${m.layers.decoder} layers · ${m.dtype} · ` +
      `source ${S} → ${S * S} encoder scores, output ${T} → ${T * T} decoder and ${T * S} cross scores per head per layer`;
    const how = reply.prefix
      ? ` (with its task prefix "${reply.prefix.trim()}")`
      : reply.languages
        ? ` from ${reply.languages.source} to ${reply.languages.target} (settings: attentionLens.sourceLanguage, targetLanguage)`
        : '';
    this.setStatus(
      `${reply.generated ? 'The model translated' : 'The model read the given translation'}${how}: ${reply.translation}`,
    );
    this.seq2seq.show(reply);
  }

  /** Continue and Show Attention, while the model writes: the watched head's newest rows. */
  onLiveRows(live: LiveRowsEvent['live']): void {
    if (live.tokens) {
      this.app.classList.remove('stale');
      this.app.classList.add('writing');
      this.continuation.hidden = true;
      this.slices.reset();
      this.rows.reset();
    }
    this.writing.addRows(live);
    const head = typeof live.head === 'number' ? `head ${live.head}` : `${live.head} of heads`;
    this.meta.textContent = `Writing · layer ${live.layer}, ${head} · the matrix grows a row per token · N = ${this.writing.count}`;
  }

  /** Continue and Show Attention: the continuation so far and its newest token. */
  onGenerating(text: string, token: { text: string; index: number }): void {
    this.setStatus(`Writing: ${text}`);
    this.writing.addToken(token);
  }

  /** The live view ends (an analysis or an error took over); the strip and matrix show the analysis again. */
  private endWriting(): void {
    if (!this.app.classList.contains('writing')) return;
    this.app.classList.remove('writing');
    this.writing.reset();
  }

  /** Shows the chosen views; hidden ones keep their state, and hover links the visible ones as before. */
  applyView(): void {
    this.app.dataset.view = this.state.view;
    if (this.state.view === 'all' || this.state.view === 'matrix') this.heatmap.draw();
  }

  /** A line above the views: progress, a note, or an error. */
  setStatus(text: string, kind: 'info' | 'error' = 'info'): void {
    this.status.textContent = text;
    this.status.className = `status ${kind}`;
    this.status.hidden = text.length === 0;
  }

  /** The panel's title line. */
  setTitle(text: string): void {
    this.title.textContent = `Attention — ${text}`;
  }

  /** A new analysis: tokens at once, the first matrix from `first` when the host guessed the view, else asked for. */
  showAnalysis(s: AnalysisSummary, sourceLabel: string, sourceText: string | undefined, first?: FirstView): void {
    if (s.long) {
      this.showLong(s, sourceLabel, first);
      return;
    }
    this.endWriting();
    this.app.dataset.mode = 'plain';
    const state = this.state;
    const sameModel = state.summary?.model.id === s.model.id;
    this.app.classList.remove('stale');
    // A new text starts at the top, where its tokens are.
    if (state.summary?.analysisId !== s.analysisId) window.scrollTo(0, 0);
    // A lock belongs to a word, not a position: on a new text it moves to the same word, or goes.
    state.locked = refind(state.locked, state.summary?.tokens, s.tokens);
    state.summary = s;
    state.sourceLabel = sourceLabel;
    state.sourceText = sourceText;
    if (!sameModel) {
      state.layer = 0;
      state.head = 0;
      state.rollout = false;
    }
    this.focus = state.locked;
    this.raw = this.visible = this.shown = this.headRows = undefined;
    this.lastHeat = '';
    this.lens.clear();
    this.slices.reset();
    this.rows.reset();
    this.save();
    this.setTitle(sourceLabel);
    const model = s.model;
    const distinct = [...new Set(model.heads)];
    const kv = [...new Set(model.kvHeads ?? model.heads)];
    const grouped = (model.kvHeads ?? model.heads).some((k, l) => k !== model.heads[l]);
    // Grouped-query attention: several query heads share one key/value head; the maps are per query head.
    const kvNote = grouped ? ` (${kv.length === 1 ? kv[0] : (model.kvHeads ?? []).join(', ')} KV heads)` : '';
    const heads =
      distinct.length === 1
        ? `${distinct[0]} heads${kvNote} each`
        : `${model.heads.join(', ')} heads${kvNote} (layer by layer)`;
    // A local folder's full path goes to the tooltip; the line keeps its name.
    const name =
      /[\\/]/.test(model.id) && /^([A-Za-z]:)?[\\/]/.test(model.id) ? model.id.split(/[\\/]/).pop() : model.id;
    this.meta.title = model.id;
    this.meta.textContent = `${name} · ${model.kind} · ${model.layers} layers, ${heads} · ${model.dtype} · N = ${s.n} → N² = ${(s.n * s.n).toLocaleString()} scores per head per layer`;
    this.setStatus(s.truncated ? truncationNote(s) : '');
    renderContinuation(this.continuation, s, (action) => vscode.postMessage({ type: 'action', action }));
    this.toolbar.fillSelectors(s);
    this.renderTokens();
    this.search.setTokens(s.tokens, state.locked);
    this.renderHeadLegend();
    this.renderShading();
    if (
      first?.slice &&
      first.slice.analysisId === s.analysisId &&
      first.slice.layer === state.layer &&
      first.slice.head === currentSelector(state)
    ) {
      this.drawSlice(first.slice);
    } else this.requestSlice();
    if (first?.thumbnails?.analysisId === s.analysisId) this.onThumbnails(first.thumbnails);
    else {
      renderGridPending(this.grid);
      this.rpc.call('thumbnails', { analysisId: s.analysisId, size: Math.min(THUMB, s.n) }, REQUEST_TIMEOUT_MS).then(
        (t) => this.onThumbnails(t),
        (e: EngineError) => this.onError(e),
      );
    }
    this.tellView();
  }

  /** The tokens of a saved analysis without numbers, until the host sends the re-run. */
  showShell(s: AnalysisSummary): void {
    this.state.summary = s;
    this.setTitle(this.state.sourceLabel ?? '');
    this.setStatus('Restoring the analysis…');
    this.toolbar.fillSelectors(s);
    this.renderTokens();
  }

  private onSlice(slice: SliceReply): void {
    if (slice.analysisId !== this.state.summary?.analysisId) return;
    this.drawSlice(slice);
  }

  private onRows(r: RowsReply): void {
    if (r.analysisId !== this.state.summary?.analysisId) return;
    this.headRows = {
      key: `${r.analysisId}:${r.layer}:${r.index}:${r.direction}`,
      heads: r.heads,
      data: new Float32Array(r.buffer),
    };
    this.renderShading();
  }

  private onThumbnails(t: ThumbnailsReply): void {
    if (t.analysisId !== this.state.summary?.analysisId) return;
    renderThumbnailGrid(this.grid, t, (layer, head) => this.selectHead(layer, head));
    // The grid needs the rest of the pass after a first view: its time is measured too (bench:e2e).
    if (this.startedAt !== undefined && document.body.dataset.thumbnails !== String(t.analysisId))
      document.body.dataset.thumbnailsFromCommandMs = String(Date.now() - this.startedAt);
    document.body.dataset.thumbnails = String(t.analysisId);
    markSelectedThumb(this.grid, this.state.layer, this.state.rollout ? '' : String(this.state.head));
  }

  /**
   * A run failed: the views still show an earlier text, so they are greyed and taken out of reach, and the error
   * box offers the ways forward (the host runs them).
   */
  onRunFailed(title: string, message: string, actions: PanelAction[]): void {
    if (this.app.classList.contains('writing')) {
      // The live view replaced the earlier analysis's chips and matrix: put them back (greyed below).
      this.endWriting();
      if (this.state.summary) {
        this.renderTokens();
        this.reprocess();
        renderContinuation(this.continuation, this.state.summary, (action) =>
          vscode.postMessage({ type: 'action', action }),
        );
      }
    }
    this.slices.reset();
    this.rows.reset();
    this.setTitle(title);
    this.app.classList.toggle('stale', this.state.summary !== undefined);
    this.setStatus(message, 'error');
    const row = actionButtons(actions, (action) => vscode.postMessage({ type: 'action', action }));
    if (row) this.status.append(row);
  }

  /** Heads ranked by Compare Two Texts, in the head-search section. */
  onComparison(title: string, heads: FlipScore[]): void {
    this.search.showComparison(title, heads);
  }

  /** A request failed: forget what is in flight so the queue moves on, and say why (in the panel's words). */
  onError(error: EngineError | { code?: string; message: string }): void {
    this.slices.reset();
    this.rows.reset();
    const message =
      error.code === 'unknown-analysis'
        ? 'This analysis is no longer in memory. Run "Attention Lens: Show Attention" again.'
        : `Could not read attention: ${error.message}`;
    this.setStatus(message, 'error');
  }

  /**
   * A click on a chip: lock or unlock it; in predict-first mode the first click picks the token to ask about and
   * the second is the learner's guess of where it looks, then the row is revealed with how close the guess was.
   */
  clickToken(i: number): void {
    if (!this.state.predict) {
      this.lock(this.state.locked === i ? null : i);
      return;
    }
    if (this.predicting === null) {
      this.predicting = i;
      this.state.locked = null;
      this.focus = null;
      this.renderShading();
      return;
    }
    const query = this.predicting;
    this.predicting = null;
    this.lock(query);
    this.showGuess(query, i);
  }

  /** How close a guess was: the guessed token's weight in the query's row, and its rank in that row. */
  private showGuess(query: number, guess: number): void {
    const s = this.state.summary;
    if (!s || !this.visible) return;
    const text = guessVerdict(
      focusDistribution(this.visible, s.n, query, this.state.direction),
      s.tokens,
      query,
      guess,
    );
    this.bars.prepend(el('p', { class: 'guess', role: 'status' }, text));
    this.live.textContent = text;
  }

  /** Hover focus (ignored while a token is locked, and in predict-first mode, where hovering would give it away). */
  setFocus(i: number | null): void {
    if (this.state.locked !== null || this.state.predict) return;
    this.focus = i;
    this.renderShading();
  }

  /** Locks (or with null unlocks) the focus token. */
  lock(i: number | null): void {
    this.state.locked = i;
    this.focus = i;
    if (i !== null) this.search.setQuery(i);
    this.save();
    this.renderShading();
  }

  /** The cell under the pointer focuses its row's token (or column's) and marks the other axis. */
  hoverCell(cell: { row: number; col: number } | undefined): void {
    if (!cell) {
      this.peer = null;
      if (this.state.locked === null) this.setFocus(null);
      else this.renderShading();
      return;
    }
    this.peer = this.state.direction === 'row' ? cell.col : cell.row;
    if (this.state.locked === null) this.focus = this.state.direction === 'row' ? cell.row : cell.col;
    this.renderShading();
  }

  /** The weight shown in a cell (after hiding and the threshold). */
  shownWeight(row: number, col: number): number | undefined {
    const s = this.state.summary;
    return s && this.shown ? this.shown[row * s.n + col] : undefined;
  }

  /** The next head of this layer, then the first head of the next layer (walkthrough). */
  nextHead(): void {
    const s = this.state.summary;
    if (!s) return;
    const heads = s.model.heads[this.state.layer];
    const next = typeof this.state.head === 'number' && !this.state.rollout ? this.state.head + 1 : 0;
    if (next < heads) this.selectHead(this.state.layer, next);
    else this.selectHead((this.state.layer + 1) % s.model.layers, 0);
  }

  /** Selects one layer and head (grid, legend, head search). */
  selectHead(layer: number, head: number): void {
    this.state.layer = layer;
    this.state.rollout = false;
    this.state.head = head;
    this.toolbar.showLayer();
    this.changedView();
  }

  private save(): void {
    saveViewState(this.state);
  }

  private renderTokens(): void {
    const s = this.state.summary!;
    this.tokens.render(s.tokens, hiddenMask(this.state, s));
  }

  /** Recomputes the derived matrices after the slice, hidden tokens or threshold changed. */
  private reprocess(): void {
    const s = this.state.summary;
    if (!s || !this.raw) return;
    const hidden = hiddenMask(this.state, s);
    this.visible = renormalise(this.raw, s.n, hidden);
    this.shown = keepTopMass(this.visible, s.n, s.n, this.state.keep);
    this.heatmap.set(
      this.shown,
      s.n,
      s.model.kind === 'causal',
      hidden,
      s.tokens.map((t) => displayText(t.text).slice(0, 14)),
      this.visible,
    );
    this.renderShading();
  }

  private renderShading(): void {
    const s = this.state.summary;
    const focus = this.focus;
    this.tokens.mark(focus, this.peer);
    if (focus === null || !s || !this.visible || !this.shown) {
      this.tokens.clear();
      const asking = this.predicting !== null && s ? s.tokens[this.predicting]?.text : undefined;
      this.bars.replaceChildren(
        asking !== undefined
          ? el('p', { class: 'hint prompt' }, `Where does "${asking}" look most? Click the token you predict.`)
          : el('p', { class: 'hint' }, 'The focus token’s attention shows here.'),
      );
      this.heatmap.crosshair(undefined);
      this.live.textContent = '';
      this.tellEditor(null, undefined);
      return;
    }
    const n = s.n;
    const direction = this.state.direction;
    const dist = focusDistribution(this.visible, n, focus, direction);
    // What Keep leaves is what every view shows: chips, bars and the editor agree.
    const kept = this.state.keep >= 1 ? dist : focusDistribution(this.shown, n, focus, direction);
    if (allHeads(this.state)) this.shadeAllHeads(s, focus);
    else this.tokens.shadeOne(dist, kept);
    const heading = `Attention ${direction === 'row' ? 'paid by' : 'received by'} "${s.tokens[focus].text}" (${viewName(this.state)})`;
    const note =
      currentSelector(this.state) === 'max'
        ? 'The largest weight over the heads, per token: not a distribution, so the bars do not sum to 100%.'
        : this.state.keep < 1
          ? `Keep shows the top ${this.state.keep * 100}% of the row's mass; the rest is hidden.`
          : undefined;
    const top3 = renderFocusBars(
      this.bars,
      heading,
      s.tokens,
      kept,
      // Through mark(), so the dashed outline goes with the next render (Esc while over a bar used to leave it).
      (j, on) => this.tokens.mark(this.focus, on ? j : this.peer),
      { note, distribution: currentSelector(this.state) !== 'max' && this.state.keep >= 1 },
    );
    const expected = expectedList(s, focus, this.lens.get(focus), () => this.askLens(s.analysisId, focus));
    if (expected) this.bars.append(expected);
    this.tellEditor(focus, kept);
    this.live.textContent = `${s.tokens[focus].text}: ${top3}`;
    const peer = this.peer ?? focus;
    this.heatmap.crosshair(direction === 'row' ? { row: focus, col: peer } : { row: peer, col: focus });
  }

  /** The logit lens of token `index` (once per token and analysis), shown in the expected box when it comes. */
  private askLens(analysisId: number, index: number): void {
    this.lens.set(index, 'waiting');
    this.renderShading();
    this.rpc.call('logitLens', { analysisId, index }, REQUEST_TIMEOUT_MS).then(
      (reply) => {
        if (this.state.summary?.analysisId !== analysisId) return;
        this.lens.set(index, reply);
        this.renderShading();
      },
      (e: EngineError) => {
        this.lens.delete(index);
        this.onError(e);
      },
    );
  }

  /** One colour per head: each chip carries a stripe per head whose opacity is that head's weight (relative to its max). */
  private shadeAllHeads(s: AnalysisSummary, index: number): void {
    const key = `${s.analysisId}:${this.state.layer}:${index}:${this.state.direction}`;
    if (this.headRows?.key !== key) {
      // Until this token's rows arrive, show nothing rather than another token's stripes.
      this.tokens.clear();
      this.rows.request({ analysisId: s.analysisId, layer: this.state.layer, index, direction: this.state.direction });
      return;
    }
    const { heads, data } = this.headRows;
    const rows = normaliseRows(data, heads, s.n, hiddenMask(this.state, s));
    this.tokens.shadeHeads(keepTopMass(rows, heads, s.n, this.state.keep), heads, s.n);
  }

  /** Lets the host shade the source text in the editor by the focus token's distribution. */
  private tellEditor(index: number | null, dist: Float32Array | undefined): void {
    const st = this.state;
    const key =
      index === null
        ? ''
        : `${st.summary?.analysisId}:${index}:${viewName(st)}:${st.direction}:${st.hideSpecial}:${st.keep}`;
    if (key === this.lastHeat) return;
    this.lastHeat = key;
    vscode.postMessage(
      index === null || !dist
        ? { type: 'focusToken', index: null }
        : { type: 'focusToken', index, weights: Array.from(dist, (w) => Math.min(1, Math.max(0, w))) },
    );
  }

  private renderHeadLegend(): void {
    const s = this.state.summary;
    const legend = this.headLegend;
    if (!s || !allHeads(this.state)) {
      legend.replaceChildren();
      legend.hidden = true;
      return;
    }
    legend.hidden = false;
    const items = headLegendItems(s.model.heads[this.state.layer], (k) => this.selectHead(this.state.layer, k));
    legend.replaceChildren(el('span', {}, 'One stripe per head on each token; stronger = more attention:'), ...items);
  }

  /** Tells the host the view on screen, so the next analysis brings its slice along (the webview owns the view). */
  private tellView(): void {
    if (this.state.summary)
      vscode.postMessage({ type: 'view', layer: this.state.layer, head: currentSelector(this.state) });
  }

  /** Layer or head changed: keep the focus, fetch the new slice. */
  private changedView(): void {
    this.headRows = undefined;
    this.save();
    this.tellView();
    markSelectedThumb(this.grid, this.state.layer, this.state.rollout ? '' : String(this.state.head));
    this.renderHeadLegend();
    this.requestSlice();
  }

  /** The matrix as drawn (labels included) on the theme's background, as a PNG for the host to save. */
  private exportPng(): void {
    const s = this.state.summary;
    if (!s || !this.raw) return;
    const title = `${s.model.id} · ${viewName(this.state)} · ${this.state.sourceLabel ?? ''}`;
    vscode.postMessage({ type: 'exportPng', dataUrl: matrixPng(this.heatmap.canvas, title) });
  }

  private requestSlice(): void {
    const s = this.state.summary;
    if (!s) return;
    this.slices.request({ analysisId: s.analysisId, layer: this.state.layer, head: currentSelector(this.state) });
  }

  private drawSlice(slice: SliceReply): void {
    const s = this.state.summary;
    if (!s) return;
    this.raw = new Float32Array(slice.buffer);
    this.heatmap.canvas.setAttribute(
      'aria-label',
      `attention heatmap, ${viewName(this.state)}, ${slice.n} by ${slice.n}`,
    );
    this.setStatus(s.truncated ? truncationNote(s) : '');
    this.reprocess();
    // Same machine clock as the host's Date.now() at the command's start: the honest "command → first heatmap".
    if (this.startedAt !== undefined && document.body.dataset.painted !== String(slice.analysisId)) {
      const now = Date.now();
      document.body.dataset.fromCommandMs = String(now - this.startedAt);
      if (this.repliedAt !== undefined) document.body.dataset.fromReplyMs = String(now - this.repliedAt);
      if (this.receivedAt !== undefined) document.body.dataset.panelMs = String(now - this.receivedAt);
      document.body.dataset.forwardMs = String(Math.round(s.timings.forwardMs));
    }
    document.body.dataset.painted = String(slice.analysisId);
  }
}
