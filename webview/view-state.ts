// What the user chose in the panel (layer, head, direction, filters, lock, view), kept by VS Code across reloads,
// and the words and selectors derived from it.
import type { AnalysisSummary, Direction, HeadSelector, TokenInfo } from '../src/protocol/messages';
import { vscode } from './vscode-api';

/** A head, an aggregate, or every head at once (one colour each in the token view). */
export type HeadChoice = HeadSelector | 'all';

/** What survives a reload (VS Code keeps it with the panel; the serializer re-runs the text). */
export interface ViewState {
  summary?: AnalysisSummary;
  sourceLabel?: string;
  sourceText?: string;
  layer: number;
  /** Show the attention rollout through `layer` instead of one layer's heads. */
  rollout: boolean;
  head: HeadChoice;
  direction: Direction;
  hideSpecial: boolean;
  keep: number;
  locked: number | null;
  /** Which views are on screen: everything, or one view (plus the focus bars). */
  view: 'all' | 'tokens' | 'matrix' | 'grid';
  /** Predict first: a clicked token's row stays hidden until the learner clicks where they think it looks. */
  predict: boolean;
}

/** The Keep control's choices: all weights, or the top share of each row's mass. */
export const KEEP_CHOICES = [1, 0.95, 0.9, 0.8, 0.5];

/** The state VS Code kept with the panel, over the defaults. */
export function loadViewState(): ViewState {
  const saved = vscode.getState() as Partial<ViewState> | undefined;
  return {
    layer: 0,
    rollout: false,
    head: 0,
    direction: 'row',
    hideSpecial: false,
    keep: 1,
    locked: null,
    view: 'all',
    predict: false,
    ...saved,
  };
}

/** Hands the state to VS Code to keep. */
export function saveViewState(state: ViewState): void {
  vscode.setState(state);
}

/** The selector of the matrix on screen ("all heads" shows their mean). */
export function currentSelector(state: ViewState): HeadSelector {
  return state.rollout ? 'rollout' : state.head === 'all' ? 'mean' : state.head;
}

/** True when the token view shows one stripe per head. */
export function allHeads(state: ViewState): boolean {
  return state.head === 'all' && !state.rollout;
}

/** What the matrix shows, in words. */
export function viewName(state: ViewState): string {
  if (state.rollout) return `rollout through layer ${state.layer + 1}`;
  const who =
    state.head === 'all'
      ? 'mean of heads'
      : typeof state.head === 'number'
        ? `head ${state.head + 1}`
        : `${state.head} of heads`;
  return `layer ${state.layer + 1}, ${who}`;
}

/** Which tokens are hidden (special tokens, when the user hides them). */
export function hiddenMask(state: ViewState, s: AnalysisSummary): boolean[] {
  return s.tokens.map((t) => state.hideSpecial && t.special);
}

/**
 * The index in `next` of the token locked at `index` in `previous`: the same text, the same occurrence of it
 * (the second "it" stays the second "it"); null when the new text has no such token.
 */
export function refind(index: number | null, previous: TokenInfo[] | undefined, next: TokenInfo[]): number | null {
  if (index === null) return null;
  const old = previous?.[index];
  if (!old) return index < next.length ? index : null;
  const same = (t: TokenInfo) => t.special === old.special && t.text.toLowerCase() === old.text.toLowerCase();
  const occurrence = previous!.slice(0, index).filter(same).length;
  let seen = 0;
  for (let i = 0; i < next.length; i++) {
    if (!same(next[i])) continue;
    if (seen === occurrence) return i;
    seen++;
  }
  return null;
}
