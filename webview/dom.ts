// The one way the panel creates elements: attributes by setAttribute and text by textContent, never HTML.

/** A new element with attributes and optional text content. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** How a token is shown on a chip or axis: newlines and tabs made visible. */
export function displayText(text: string): string {
  return text.replace(/\n/g, '⏎').replace(/\t/g, '⇥');
}

/** A secondary toolkit button with an id, a label, a tooltip and a click action. */
export function secondaryButton(id: string, label: string, title: string, run: () => void): HTMLElement {
  const b = document.createElement('vscode-button');
  b.id = id;
  b.textContent = label;
  b.title = title;
  b.setAttribute('secondary', '');
  b.addEventListener('click', run);
  return b;
}
