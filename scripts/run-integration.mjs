#!/usr/bin/env node
// Runs the integration suites inside a real VS Code extension host through @vscode/test-electron's runTests,
// with vscodeExecutablePath pointed at a launcher that starts code-server + Chromium (no download needed).
// On a desktop with VS Code, the same suites run with `runTests` and no launcher.
import { runTests } from '@vscode/test-electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const settings = {
  'attentionLens.model': join(root, 'test', 'fixtures', 'models', 'bert-tiny'),
  'attentionLens.dtype': 'fp32',
  'attentionLens.allowRemoteModels': false,
};
try {
  await runTests({
    vscodeExecutablePath: join(root, 'scripts', 'harness', 'code-launcher.mjs'),
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, 'dist-test', 'integration', 'index.js'),
    launchArgs: [join(root, 'test', 'fixtures', 'workspace')],
    extensionTestsEnv: { ATTENTION_LENS_TEST_SETTINGS: JSON.stringify(settings) },
  });
} catch (error) {
  console.error(`integration tests failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
