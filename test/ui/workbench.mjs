// What every UI suite does in the real workbench: launch it with the fixture model (from the development folder or
// the installed .vsix), keep a screenshot, and open the lesson's sentences and run Show Attention as a user would.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startVSCode } from '../../scripts/harness/vscode.mjs';

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** With ATTENTION_LENS_VSIX the suites run against that packaged extension, installed as a user would. */
export const VSIX = process.env.ATTENTION_LENS_VSIX;
/** "development folder" or "installed .vsix", for suite titles. */
export const FLAVOUR = VSIX ? 'installed .vsix' : 'development folder';

/** User settings of every suite: the bert-tiny fixture, fp32, no downloads. */
export const FIXTURE_SETTINGS = {
  'attentionLens.model': join(root, 'test', 'fixtures', 'models', 'bert-tiny'),
  'attentionLens.dtype': 'fp32',
  'attentionLens.allowRemoteModels': false,
};

/** Starts the workbench on `folder` (default the fixture workspace) and waits for it; extra options pass through. */
export async function launch({ folder = join(root, 'test', 'fixtures', 'workspace'), settings = {}, ...options } = {}) {
  const vscode = await startVSCode({
    ...(VSIX ? { installVsix: VSIX } : { extensionDevelopmentPath: root }),
    folder,
    settings: { ...FIXTURE_SETTINGS, ...settings },
    ...options,
  });
  await vscode.page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  return vscode;
}

/** Saves a screenshot to test-results/<name>[-vsix].png (never fails the suite). */
export async function screenshot(page, name) {
  if (!page) return;
  mkdirSync(join(root, 'test-results'), { recursive: true });
  await page
    .screenshot({ path: join(root, 'test-results', `${name}${VSIX ? '-vsix' : ''}.png`) })
    .catch(() => undefined);
}

/** Runs a command from the palette by its title. */
export async function runCommand(page, title, listed = title) {
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').waitFor();
  await page.keyboard.type(title);
  // The row whose label is exactly the command: "Show Attention" also matches "Continue and Show Attention".
  const exact = new RegExp(`(^|: )${listed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const row = page.locator('.quick-input-list .monaco-list-row', {
    has: page.locator('.label-name', { hasText: exact }),
  });
  await row.first().waitFor({ timeout: 30_000 });
  await row.first().click();
}

/** Opens sentences.txt, selects its first line and runs Show Attention; resolves to the panel's frame. */
export async function showAttentionOnFirstSentence(page) {
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').waitFor();
  await page.keyboard.type('sentences.txt');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'sentences.txt' }).first().click();
  await page.locator('.monaco-editor .view-lines').waitFor({ timeout: 30_000 });
  await page.locator('.view-line', { hasText: 'The animal' }).first().click();
  await page.keyboard.press('Home');
  await page.keyboard.press('Shift+End');
  await runCommand(page, 'Attention Lens: Show Attention', 'Show Attention');
  return page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
}

/** Sets a select of the panel (by id) to `value` as a user's choice would (a change event). */
export function choose(panel, id, value) {
  return panel.locator(`#${id}`).evaluate((sel, v) => {
    sel.value = v;
    sel.dispatchEvent(new Event('change'));
  }, value);
}
