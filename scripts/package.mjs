#!/usr/bin/env node
// `npm run package`: one .vsix per platform onnxruntime-node ships a binary for. Each carries the minified
// bundles, media, and only two runtime packages: onnxruntime-common and onnxruntime-node with the binary of
// its own platform. No test fixtures, no sources. Output: dist-package/attention-lens-<target>.vsix.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist-package');
const ortBin = join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const targets = readdirSync(ortBin)
  .flatMap((os) => readdirSync(join(ortBin, os)).map((arch) => ({ os, arch, target: `${os}-${arch}` })))
  .filter((t) => only.length === 0 || only.includes(t.target));

const node = (args, cwd = root) => execFileSync(process.execPath, args, { cwd, stdio: 'inherit' });
node(['esbuild.js', '--production']);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const sizes = {};
for (const { os, arch, target } of targets) {
  const stage = join(out, `stage-${target}`);
  mkdirSync(stage, { recursive: true });
  for (const f of ['README.md', 'CHANGELOG.md', 'LICENSE', 'media', 'bin'])
    if (existsSync(join(root, f))) cpSync(join(root, f), join(stage, f), { recursive: true });
  // The README's screenshots only: the rest of docs/ is for developers.
  mkdirSync(join(stage, 'docs'));
  for (const f of readdirSync(join(root, 'docs')))
    if (f.endsWith('.png')) cpSync(join(root, 'docs', f), join(stage, 'docs', f));
  mkdirSync(join(stage, 'dist'));
  for (const f of ['extension.js', 'worker.js', 'cli.js', 'webview.js'])
    cpSync(join(root, 'dist', f), join(stage, 'dist', f));
  // Runtime dependencies: the shared tensor package and onnxruntime-node without its installer and other platforms.
  const ortNode = join(stage, 'node_modules', 'onnxruntime-node');
  cpSync(join(root, 'node_modules', 'onnxruntime-common'), join(stage, 'node_modules', 'onnxruntime-common'), {
    recursive: true,
  });
  for (const f of ['README.md', 'dist'])
    cpSync(join(root, 'node_modules', 'onnxruntime-node', f), join(ortNode, f), { recursive: true });
  // Its other dependencies and scripts serve the npm installer (binary downloads), which a .vsix never runs.
  const ortPkg = JSON.parse(readFileSync(join(root, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8'));
  delete ortPkg.scripts;
  ortPkg.dependencies = { 'onnxruntime-common': ortPkg.dependencies['onnxruntime-common'] };
  writeFileSync(join(ortNode, 'package.json'), JSON.stringify(ortPkg, null, 2));
  cpSync(join(ortBin, os, arch), join(ortNode, 'bin', 'napi-v6', os, arch), { recursive: true });
  const { devDependencies, scripts, ...published } = pkg;
  published.dependencies = {
    'onnxruntime-node': pkg.dependencies['onnxruntime-node'],
    'onnxruntime-common': ortPkg.dependencies['onnxruntime-common'],
  };
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);
  writeFileSync(join(stage, '.vscodeignore'), '**/*.map\n**/*.d.ts\n');
  const vsix = join(out, `attention-lens-${target}.vsix`);
  node(
    [
      join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
      'package',
      '--target',
      target,
      '--skip-license',
      '--no-rewrite-relative-links',
      '--out',
      vsix,
    ],
    stage,
  );
  sizes[target] = +(statSync(vsix).size / 2 ** 20).toFixed(1);
  checkContents(stage, target);
}
writeFileSync(join(out, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
console.log('\n.vsix sizes (MB):', sizes);
// Leave the working tree's dist as the development build the tests use.
node(['esbuild.js']);

/**
 * `vsce ls` of a staged package: every file must be one the extension needs at run time, so no source, test,
 * fixture, map or stray file ships. Fails the packaging (and so `npm test`, which packages linux-x64) otherwise.
 */
function checkContents(stage, target) {
  const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  const listed = execFileSync(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: stage, encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const allowed = [
    /^(README|CHANGELOG)\.md$/,
    /^LICENSE$/,
    /^package\.json$/,
    /^media\/(icon\.(svg|png)|panel\.css|walkthrough\/[\w-]+\.md)$/,
    /^docs\/[\w-]+\.png$/,
    /^bin\/attention-lens\.js$/,
    /^dist\/(extension|worker|cli|webview)\.js$/,
    /^node_modules\/onnxruntime-(node|common)\//,
  ];
  const stray = listed.filter((f) => !allowed.some((re) => re.test(f)));
  if (stray.length) throw new Error(`${target}: files that should not ship: ${stray.join(', ')}`);
  if (!listed.includes('dist/worker.js') || !listed.includes('media/icon.png')) {
    throw new Error(`${target}: the package misses files it needs (vsce ls: ${listed.length} files)`);
  }
  console.log(`${target}: vsce ls lists ${listed.length} files, all expected`);
}
