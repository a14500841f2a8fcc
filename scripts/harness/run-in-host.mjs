// Runs a suite (extensionTestsPath) inside a real VS Code extension host through @vscode/test-electron's runTests,
// with vscodeExecutablePath pointed at a launcher that starts code-server + Chromium (no download needed), and the
// fixture model as the user's settings. On a desktop with VS Code, the same suites run with `runTests` alone.
import { runTests } from '@vscode/test-electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Settings every in-host run uses: the bert-tiny fixture, fp32, no downloads. */
export const FIXTURE_SETTINGS = {
  'attentionLens.model': join(root, 'test', 'fixtures', 'models', 'bert-tiny'),
  'attentionLens.dtype': 'fp32',
  'attentionLens.allowRemoteModels': false,
};

/** Runs `testsPath` (relative to the repository) in the extension host; resolves when it passes. */
export function runInExtensionHost(testsPath, env = {}) {
  return runTests({
    vscodeExecutablePath: join(root, 'scripts', 'harness', 'code-launcher.mjs'),
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, testsPath),
    launchArgs: [join(root, 'test', 'fixtures', 'workspace')],
    extensionTestsEnv: { ATTENTION_LENS_TEST_SETTINGS: JSON.stringify(FIXTURE_SETTINGS), ...env },
  });
}
