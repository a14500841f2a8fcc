// Builds the three bundles: extension host (CJS, vscode external), engine worker (+ the CLI, same engine),
// and the webview (browser IIFE). `--watch` rebuilds on change; `--production` minifies.
const esbuild = require('esbuild');

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
// Only the native runtime stays in node_modules (one copy of onnxruntime-node, and the onnxruntime-common its
// tensors come from, shared with transformers.js); everything else is bundled, so a .vsix ships two packages.
const nodeExternals = ['vscode', 'onnxruntime-node', 'onnxruntime-common'];
// transformers.js requires sharp for images; text models never use it (see src/worker/sharp-stub.cjs).
const alias = { sharp: './src/worker/sharp-stub.cjs' };

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'info' };
const builds = [
  {
    ...common,
    entryPoints: { extension: 'src/extension.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist',
    external: nodeExternals,
  },
  {
    ...common,
    entryPoints: { worker: 'src/worker/worker-main.ts', cli: 'src/cli/cli.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist',
    external: nodeExternals,
    alias,
  },
  {
    ...common,
    entryPoints: { webview: 'webview/main.ts' },
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    outdir: 'dist',
  },
];
// Integration suites run inside the extension host, so they are bundled like the extension.
if (!production) {
  builds.push({
    ...common,
    entryPoints: { index: 'test/integration/index.ts', 'extension.test': 'test/integration/extension.test.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist-test/integration',
    external: ['vscode', 'mocha'],
  });
  builds.push({
    ...common,
    entryPoints: { 'statusbar-bench': 'test/bench/statusbar-bench.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir: 'dist-test/bench',
    external: ['vscode'],
  });
}

(async () => {
  if (watch) {
    for (const b of builds) await (await esbuild.context(b)).watch();
  } else {
    await Promise.all(builds.map((b) => esbuild.build(b)));
  }
})().catch(() => process.exit(1));
