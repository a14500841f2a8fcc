// Workspace trust (issue 20): a workspace VS Code does not trust cannot choose the model, the cache folder or
// downloads. Runs the real workbench WITHOUT --disable-workspace-trust, so the folder opens in Restricted Mode.
import { strict as assert } from 'node:assert';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAVOUR, launch, root, runCommand, screenshot } from './workbench.mjs';

describe(`an untrusted workspace (${FLAVOUR})`, function () {
  this.timeout(180_000);
  let vscode;
  let page;
  let folder;

  before(async () => {
    // The workspace names a hostile model of its own (1e9 layers: sizing anything from it would crash the host),
    // a cache folder of its own, and turns downloads on.
    folder = mkdtempSync(join(tmpdir(), 'al-untrusted-'));
    cpSync(join(root, 'test', 'fixtures', 'models', 'gpt2-tiny'), join(folder, 'm'), { recursive: true });
    const config = JSON.parse(readFileSync(join(folder, 'm', 'config.json'), 'utf8'));
    writeFileSync(join(folder, 'm', 'config.json'), JSON.stringify({ ...config, n_layer: 1e9 }));
    mkdirSync(join(folder, '.vscode'));
    writeFileSync(
      join(folder, '.vscode', 'settings.json'),
      JSON.stringify({
        'attentionLens.model': './m',
        'attentionLens.cacheDir': folder,
        'attentionLens.allowRemoteModels': true,
      }),
    );
    writeFileSync(join(folder, 'notes.txt'), 'The animal\n');
    vscode = await launch({
      folder,
      trust: false,
      settings: { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' },
    });
    page = vscode.page;
  });

  after(async () => {
    await screenshot(page, 'untrusted-workspace');
    await vscode?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("opens in Restricted Mode, and the status bar counts with the user's model, not the workspace's", async () => {
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 60_000 });
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').waitFor();
    await page.keyboard.type('notes.txt');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'notes.txt' }).first().click();
    await page.locator('.monaco-editor .view-lines').waitFor({ timeout: 30_000 });
    // bert-tiny counts "[CLS] the animal [SEP]" = 4; the workspace's GPT-2 copy would count 2 (or crash on 1e9 layers).
    const item = page.locator('.statusbar-item', { hasText: 'tok · N²' }).first();
    await item.waitFor({ timeout: 60_000 });
    assert.match(await item.textContent(), /4 tok · N² = 16/);
    // The extension host is alive and still answers: the command palette runs an Attention Lens command.
    await runCommand(page, 'Attention Lens: Show Attention', 'Show Attention');
    const panel = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
    await panel.locator('.token').nth(2).waitFor({ timeout: 120_000 });
    assert.deepEqual((await panel.locator('.token').allTextContents()).slice(0, 2), ['[CLS]', 'The']);
  });
});
