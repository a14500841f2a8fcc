#!/usr/bin/env node
// `npm run bench:first-token`: Continue and Show Attention → the first generated token shown in the panel, in the real
// VS Code (code-server + Chromium), warm, on the SmolLM2-shaped fixture in q4 with a 126-token prompt. The clock
// starts at the Enter that runs the command from the palette (Date.now() here) and stops when the panel's strip
// first holds a generated token (Date.now() in the panel, recorded by a MutationObserver; the same machine clock).
// The goal compares it with plain transformers.js on the same prompt and model: the time to its first token
// (generate with max_new_tokens 1, one forward pass with the last position's logits), measured after VS Code is
// closed so the two do not share the cores. Also prints the full forward (every position's logits) for reference.
// Writes generation.firstTokenFromEnterMs into bench/results.json.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoModelForCausalLM, AutoTokenizer } from '@huggingface/transformers';
import { sampleStats } from './harness/sample-stats.mjs';
import { panelFrame, startVSCode } from './harness/vscode.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const model = join(root, 'test', 'fixtures', 'models', 'smollm2-shaped');
const WARM_RUNS = 15;
const COMMAND = 'Attention Lens: Continue and Show Attention';
const folder = mkdtempSync(join(tmpdir(), 'al-first-token-'));
const words = ['the', 'animal', 'crossed', 'street', 'because', 'it', 'was', 'tired'];
const text = Array.from({ length: 126 }, (_, i) => words[i % words.length]).join(' ');
writeFileSync(join(folder, 'text.txt'), text);

const vscode = await startVSCode({
  extensionDevelopmentPath: root,
  folder,
  settings: {
    'attentionLens.model': model,
    'attentionLens.dtype': 'q4',
    'attentionLens.allowRemoteModels': false,
    'attentionLens.maxNewTokens': 2,
  },
});
const { page } = vscode;
const fromEnter = [];
let coldMs;
try {
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').waitFor();
  await page.keyboard.type('text.txt');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'text.txt' }).first().click();

  let frame;
  const run = async () => {
    await page.locator('.view-line').first().click();
    await page.keyboard.press('Control+A');
    if (frame)
      await frame.evaluate(() => {
        window.__firstToken = undefined;
      });
    const before = frame ? await frame.evaluate(() => document.body.dataset.painted ?? '') : '';
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').waitFor();
    await page.keyboard.type(COMMAND);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: COMMAND }).first().waitFor();
    const t0 = Date.now();
    await page.keyboard.press('Enter');
    frame ??= await panelFrame(page);
    // The finished analysis (the next run starts from a settled panel).
    await frame.waitForFunction(
      (prev) => (document.body.dataset.painted ?? '') !== '' && document.body.dataset.painted !== prev,
      before,
      { polling: 20, timeout: 180_000 },
    );
    const first = await frame.evaluate(() => window.__firstToken);
    // Installed once the panel exists: the moment a generated chip first appears while the model writes.
    await frame.evaluate(() => {
      if (window.__observing) return;
      window.__observing = true;
      new MutationObserver(() => {
        if (window.__firstToken === undefined && document.querySelector('#app.writing .token.generated'))
          window.__firstToken = Date.now();
      }).observe(document.querySelector('.tokens'), { childList: true });
    });
    return first === undefined ? undefined : first - t0;
  };
  const cold = Date.now();
  await run();
  coldMs = Date.now() - cold;
  await run(); // the observer is in place from here on
  for (let i = 0; i < WARM_RUNS; i++) {
    const ms = await run();
    if (ms === undefined) throw new Error('no generated token was shown while the model wrote');
    fromEnter.push(ms);
  }
} finally {
  await vscode.close();
}

// Plain transformers.js on the same prompt and model, after VS Code is gone.
const tokenizer = await AutoTokenizer.from_pretrained(model, { local_files_only: true });
const lm = await AutoModelForCausalLM.from_pretrained(model, { dtype: 'q4', local_files_only: true });
const inputs = tokenizer(text);
const firstToken = [];
const forward = [];
for (let i = 0; i < WARM_RUNS + 2; i++) {
  let t = performance.now();
  await lm.generate({ ...inputs, max_new_tokens: 1, do_sample: false });
  if (i >= 2) firstToken.push(performance.now() - t);
  t = performance.now();
  await lm(inputs);
  if (i >= 2) forward.push(performance.now() - t);
}
await lm.dispose();

const enter = sampleStats(fromEnter);
const plain = sampleStats(firstToken);
const full = sampleStats(forward);
const result = {
  n: inputs.input_ids.dims[1],
  dtype: 'q4',
  ...enter,
  coldMs,
  plainFirstTokenMs: plain.median,
  ratio: +(enter.median / plain.median).toFixed(3),
  plainFullForwardMs: full.median,
  ratioToFullForward: +(enter.median / full.median).toFixed(3),
};
const file = join(root, 'bench', 'results.json');
mkdirSync(dirname(file), { recursive: true });
const results = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
results.generation = { ...(results.generation ?? {}), firstTokenFromEnterMs: result };
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(
  `Continue → first generated token shown in the real VS Code, N = ${result.n}, q4: median ${enter.median} ms (min ${enter.min}, max ${enter.max}, ${enter.runs} warm runs) = ${result.ratio} × plain transformers.js's first token (${plain.median} ms; goal ≤ 1.5); ${result.ratioToFullForward} × its full forward (${full.median} ms, every position's logits); cold ${coldMs} ms`,
);
process.exit(0);
