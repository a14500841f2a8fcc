// The extensionTestsPath entry: runs the integration suites with mocha inside the real extension host.
import * as path from 'node:path';
import * as util from 'node:util';
import Mocha from 'mocha';

/** Called by VS Code's extension host; rejects when any test fails. */
export function run(): Promise<void> {
  // The extension host forwards console output with %s placeholders unfilled; format before printing.
  (Mocha.reporters.Base as unknown as { consoleLog: (...a: unknown[]) => void }).consoleLog = (...a: unknown[]) =>
    console.log(util.format(...a));
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 120_000, reporter: 'spec' });
  mocha.addFile(path.join(__dirname, 'extension.test.js'));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed`)) : resolve()));
  });
}
