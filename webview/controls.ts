// The panel's controls, built from @vscode-elements/elements so they look and behave like VS Code's own
// (theme colours, keyboard, focus ring) without hand-written widgets.
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/vscode-single-select.js';
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js';

/** One choice of a select: its value and visible text. */
export interface Choice {
  value: string;
  label: string;
}

/** A labelled single select; `onChange` gets the new value. */
export function makeSelect(
  id: string,
  label: string,
  onChange: (value: string) => void,
): { wrap: HTMLElement; select: VscodeSingleSelect } {
  const wrap = document.createElement('label');
  wrap.className = 'control';
  wrap.htmlFor = id;
  const text = document.createElement('span');
  text.textContent = label;
  const select = document.createElement('vscode-single-select') as VscodeSingleSelect;
  select.id = id;
  select.setAttribute('aria-label', label);
  select.addEventListener('change', () => onChange(select.value));
  wrap.append(text, select);
  return { wrap, select };
}

/** Replaces a select's options and selects `value`. */
export function setChoices(select: VscodeSingleSelect, choices: Choice[], value: string): void {
  select.replaceChildren(
    ...choices.map((c) => {
      const o = document.createElement('vscode-option');
      o.setAttribute('value', c.value);
      o.textContent = c.label;
      if (c.value === value) o.setAttribute('selected', '');
      return o;
    }),
  );
  select.value = value;
}

/** A checkbox with a label; `onChange` gets the new state. */
export function makeCheckbox(id: string, label: string, onChange: (checked: boolean) => void): VscodeCheckbox {
  const box = document.createElement('vscode-checkbox') as VscodeCheckbox;
  box.id = id;
  box.label = label;
  box.setAttribute('aria-label', label);
  box.addEventListener('change', () => onChange(box.checked));
  return box;
}
