#!/usr/bin/env node
// Stands in for the VS Code executable that @vscode/test-electron's runTests() would start: it takes the same
// --extensionDevelopmentPath / --extensionTestsPath arguments, runs them in code-server + Chromium, and exits
// with the extension tests' exit code. The first plain argument is the folder to open.
import { startVSCode } from './vscode.mjs';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1];
};
const extensionDevelopmentPath = flag('extensionDevelopmentPath');
const extensionTestsPath = flag('extensionTestsPath');
const folder =
  args.find((a) => !a.startsWith('--') && a !== extensionDevelopmentPath && a !== extensionTestsPath) ?? process.cwd();
const settings = JSON.parse(process.env.ATTENTION_LENS_TEST_SETTINGS ?? '{}');
const timeoutMs = Number(process.env.ATTENTION_LENS_TEST_TIMEOUT_MS ?? 10 * 60_000);

const show = (line) => {
  // Mocha's lines arrive through codeAutomationLog; the offline gallery's failures are noise.
  if (line.startsWith('[exthost]') && !/open-vsx|ENOTFOUND/.test(line))
    process.stdout.write(`${line.split('\n').slice(0, 8).join('\n')}\n`);
};
const vscode = await startVSCode({ extensionDevelopmentPath, extensionTestsPath, folder, settings, onLog: show });
const timer = setTimeout(() => {
  process.stdout.write(`extension tests did not finish within ${timeoutMs} ms\n`);
  void vscode.close().then(() => process.exit(3));
}, timeoutMs);
const code = await vscode.exited;
clearTimeout(timer);
if (code !== 0)
  process.stdout.write(
    `--- workbench log ---\n${vscode.logs.filter((l) => !/open-vsx|ENOTFOUND/.test(l)).join('\n')}\n`,
  );
await vscode.close();
process.exit(code);
