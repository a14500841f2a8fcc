// Continue and Show Attention in the real workbench (issue 16): a causal model continues the lesson's "Arjun ate the
// pizza because", the generated tokens are marked in the panel, a generated token shows what the model expected
// there, and Insert puts the continuation into the editor after the selection.
import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAVOUR, launch, root, runCommand, screenshot } from './workbench.mjs';

describe(`Continue and Show Attention (${FLAVOUR})`, function () {
  this.timeout(180_000);
  let vscode;
  let page;

  before(async () => {
    // A copy of the workspace: Insert edits sentences.txt, which the other suites read.
    const folder = mkdtempSync(join(tmpdir(), 'al-continue-'));
    cpSync(join(root, 'test', 'fixtures', 'workspace'), folder, { recursive: true });
    vscode = await launch({
      folder,
      settings: {
        'attentionLens.model': join(root, 'test', 'fixtures', 'models', 'llama-tiny'),
        'attentionLens.maxNewTokens': 6,
      },
    });
    page = vscode.page;
  });

  after(async () => {
    await screenshot(page, 'continue');
    await vscode?.close();
  });

  it('continues the selection, marks the generated tokens, shows what the model expected, and inserts it', async () => {
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').waitFor();
    await page.keyboard.type('sentences.txt');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'sentences.txt' }).first().click();
    await page.locator('.view-line', { hasText: 'Arjun ate' }).first().click();
    await page.keyboard.press('Home');
    for (let i = 0; i < 5; i++) await page.keyboard.press('Control+Shift+ArrowRight');
    await runCommand(page, 'Attention Lens: Continue and Show Attention', 'Continue and Show Attention');
    const panel = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
    await panel.locator('.token.generated').first().waitFor({ timeout: 120_000 });
    const all = await panel.locator('.token').allTextContents();
    const generated = await panel.locator('.token.generated').allTextContents();
    assert.equal(generated.length, 6, 'attentionLens.maxNewTokens tokens (the fixture never ends early)');
    const squash = (t) => t.replace(/\s/g, '');
    assert.equal(squash(all.slice(0, all.length - 6).join('')), 'Arjunatethepizzabecause', 'the prompt first');
    const continuation = (await panel.locator('.continuation q').textContent()) ?? '';
    assert.equal(squash(continuation), squash(generated.join('')), 'the continuation is the generated tokens');
    // A generated token: its row, and what the model expected after it.
    await panel.locator('.token.generated').first().hover();
    await panel.locator('.expected li').first().waitFor({ timeout: 10_000 });
    assert.equal(await panel.locator('.expected li').count(), 5);
    // The prompt's last token: what it expected next, with the token that came marked (greedy: the top one).
    await panel.locator('.token:not(.generated)').last().hover();
    await panel.locator('.expected li.chosen').first().waitFor({ timeout: 10_000 });
    assert.equal(await panel.locator('.expected li').first().getAttribute('class'), 'chosen');
    // The logit lens of the prompt's last token: one line per layer, the last one the model's output.
    await panel.locator('.token:not(.generated)').last().click();
    await panel.locator('.lens vscode-button').click();
    await panel.locator('.lens li').nth(1).waitFor({ timeout: 30_000 });
    const lens = await panel.locator('.lens li').allTextContents();
    assert.equal(lens.length, 2, 'the fixture has 2 layers');
    assert.match(lens[1], /^layer 1 \(output\): /);
    const top = (await panel.locator('.expected > ol li').first().textContent()) ?? '';
    assert.ok(lens[1].startsWith(`layer 1 (output): ${top.split(' ← ')[0]}`), `${lens[1]} vs ${top}`);
    await screenshot(page, 'continue-lens');
    await panel.locator('.token:not(.generated)').last().click();
    await panel.getByText('Insert Continuation', { exact: true }).click();
    const line = page.locator('.view-line', { hasText: 'Arjun ate' }).first();
    await page.waitForFunction(
      ([text]) =>
        [...document.querySelectorAll('.view-line')].some((l) => l.textContent?.replace(/\s/g, '').includes(text)),
      [`Arjunatethepizzabecause${squash(generated.join('')).slice(0, 8)}`],
      { timeout: 10_000 },
    );
    assert.ok(((await line.textContent()) ?? '').includes('because'), 'the continuation follows the selection');
  });

  it("the panel's Continue button continues an analysed text", async () => {
    await page.locator('.view-line', { hasText: 'Arjun ate' }).first().click();
    await page.keyboard.press('Home');
    for (let i = 0; i < 3; i++) await page.keyboard.press('Control+Shift+ArrowRight');
    // The key binding, not the palette: the palette lists the recently used "Continue and Show Attention" first.
    await page.keyboard.press('Control+Alt+A');
    const panel = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
    const button = panel.getByText('Continue', { exact: true });
    await button.waitFor({ timeout: 60_000 });
    assert.equal(await panel.locator('.token.generated').count(), 0, 'a plain analysis first');
    await button.click();
    // The finished continuation (its quoted text), not the first live chip: while the model writes, the strip grows a
    // chip at a time, so counting at the first one raced the run (CI counted 1 of 6).
    await panel.locator('.continuation q').waitFor({ timeout: 60_000 });
    const squash = (t) => t.replace(/\s/g, '');
    const tokens = await panel.locator('.token:not(.generated)').allTextContents();
    assert.equal(squash(tokens.join('')), 'Arjunatethe', 'the analysed text is the prompt');
    assert.equal(await panel.locator('.token.generated').count(), 6);
    // The panel was open while the model wrote: the watched head's matrix grew to the whole sequence, a row per token.
    // (A panel opened by the run itself shows only the result when the model is done before the panel is ready.)
    assert.equal(await panel.locator('body').getAttribute('data-live-rows'), String(tokens.length + 6));
  });
});
