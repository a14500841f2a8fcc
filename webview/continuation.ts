// After Continue and Show Attention: the continuation with its Insert button, and for a focused token what the model
// expected to come next (the top 5 of its next-token distribution, the token that did come marked).
import type { AnalysisSummary, GenerateReply, LogitLensReply } from '../src/protocol/messages';
import { displayText, el } from './dom';
import { actionButtons } from './guidance';

/** The summary's generation fields, when it is a continuation. */
export function generationOf(s: AnalysisSummary | undefined): GenerateReply | undefined {
  return s && 'generated' in s ? (s as GenerateReply) : undefined;
}

/** "The model continued: …" with Insert; for a causal model's plain analysis, a Continue button; else nothing. */
export function renderContinuation(
  host: HTMLElement,
  s: AnalysisSummary,
  post: (action: 'insertContinuation' | 'continue') => void,
): void {
  const g = generationOf(s);
  host.hidden = !g && s.model.kind !== 'causal';
  if (!g) {
    const button = s.model.kind === 'causal' ? actionButtons(['continue'], () => post('continue')) : undefined;
    const line = el('p', { class: 'hint' }, 'Let the model write on from this text and see what it attends to:');
    host.replaceChildren(...(button ? [line, button] : []));
    return;
  }
  const text = g.generated.map((t) => t.text).join('');
  const buttons = actionButtons(['insertContinuation'], () => post('insertContinuation'));
  const line = el(
    'p',
    {},
    `The model continued the ${g.promptTokens} prompt tokens with ${g.generated.length} more (marked in the strip; ` +
      'the editor heat covers the prompt only): ',
  );
  line.append(el('q', { class: 'continued' }, text));
  host.replaceChildren(line, ...(buttons ? [buttons] : []));
}

/**
 * What the model expected after token `index`, the next token (if any) marked, as a list under the bars; below it the
 * logit lens for that token (asked for with its button, since it runs the model once more).
 */
export function expectedList(
  s: AnalysisSummary,
  index: number,
  lens: LogitLensReply | 'waiting' | undefined,
  askLens: () => void,
): HTMLElement | undefined {
  const g = generationOf(s);
  const list = g?.expected[index];
  if (!g || !list) return undefined;
  const nextId = s.tokens[index + 1]?.id;
  const items = list.map((t) =>
    el(
      'li',
      { class: t.id === nextId ? 'chosen' : '' },
      `${displayText(t.text)} ${(t.p * 100).toFixed(1)}%${t.id === nextId ? ' ← came next' : ''}`,
    ),
  );
  const ol = el('ol');
  ol.append(...items);
  const box = el('div', { class: 'expected' });
  box.append(
    el('h2', {}, `After "${displayText(s.tokens[index].text)}" the model expected`),
    ol,
    lensView(lens, askLens, nextId),
  );
  return box;
}

/** The logit lens: per layer, the top 3 tokens if the model stopped at that layer; the last layer is its output. */
function lensView(
  lens: LogitLensReply | 'waiting' | undefined,
  ask: () => void,
  nextId: number | undefined,
): HTMLElement {
  const box = el('div', { class: 'lens' });
  if (lens === undefined) {
    // A vscode-button, as everywhere else in the panel; secondary: it runs the model once more.
    const button = document.createElement('vscode-button');
    button.setAttribute('secondary', '');
    button.title = "Runs the model's final norm and LM head on each layer's residual stream";
    button.textContent = 'Logit lens: how the layers form this';
    button.addEventListener('click', ask);
    box.append(button);
    return box;
  }
  if (lens === 'waiting') {
    box.append(el('p', { class: 'hint' }, 'Logit lens: reading every layer…'));
    return box;
  }
  if (!lens.layers) {
    box.append(el('p', { class: 'hint' }, lens.unavailable ?? 'No logit lens for this model.'));
    return box;
  }
  box.append(el('h3', {}, 'Logit lens: what each layer would predict'));
  const ol = el('ul');
  const last = lens.layers.length - 1;
  for (const [l, list] of lens.layers.entries()) {
    const li = el('li', {}, `layer ${l}${l === last ? ' (output)' : ''}: `);
    for (const [k, t] of list.slice(0, 3).entries()) {
      if (k) li.append(' · ');
      li.append(
        el('span', { class: t.id === nextId ? 'chosen' : '' }, `${displayText(t.text)} ${(t.p * 100).toFixed(1)}%`),
      );
    }
    ol.append(li);
  }
  box.append(ol);
  return box;
}
