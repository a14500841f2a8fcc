#!/usr/bin/env node
// `npm run test:integration`: the integration suites inside a real VS Code extension host (see harness/run-in-host.mjs).
import { runInExtensionHost } from './harness/run-in-host.mjs';

try {
  await runInExtensionHost('dist-test/integration/index.js');
} catch (error) {
  console.error(`integration tests failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
