#!/usr/bin/env node
// `npm run bench:statusbar`: the status-bar benchmark inside a real VS Code extension host (code-server + Chromium).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInExtensionHost } from './harness/run-in-host.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
try {
  await runInExtensionHost('dist-test/bench/statusbar-bench.js', { ATTENTION_LENS_ROOT: root });
} catch (error) {
  console.error(`status-bar benchmark failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
const r = JSON.parse(readFileSync(join(root, 'bench', 'statusbar.json'), 'utf8'));
console.log('status bar (real extension host, bert-base-uncased tokenizer; medians over runs)');
console.log(
  `1 MiB document: settles ${r.doc1MiB.settleMs} ms after the last keystroke, max event-loop lag ${r.doc1MiB.maxLagMs} ms   (goals: ≤ 1500, ≤ 50)`,
);
console.log(
  `10 KB document: settles ${r.doc10KB.settleMs} ms, max event-loop lag ${r.doc10KB.maxLagMs} ms   (goal: ≤ 150)`,
);
