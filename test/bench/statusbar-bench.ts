// Runs inside the real extension host (npm run bench:statusbar): types into a 1 MiB and a 10 KB document and
// measures when the status bar's exact figure settles after the last keystroke, and the extension host's
// event-loop lag throughout. Writes bench/statusbar.json.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';

interface State {
  n?: number;
  exact: boolean;
  version?: number;
}
const RUNS = 5;
const KEYSTROKES = 20;
const KEY_GAP_MS = 60;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function document(size: number): string {
  const line = "The animal didn't cross the street because it was too tired. The trophy didn't fit in the suitcase.\n";
  return line.repeat(Math.ceil(size / line.length)).slice(0, size);
}

async function settle(state: () => State, version: number, limitMs: number, t0 = performance.now()): Promise<number> {
  while (performance.now() - t0 < limitMs) {
    const s = state();
    if (s.exact && s.version === version) return performance.now() - t0;
    await sleep(2);
  }
  throw new Error(`the status bar did not settle within ${limitMs} ms: ${JSON.stringify(state())}`);
}

async function measure(state: () => State, size: number) {
  const doc = await vscode.workspace.openTextDocument({ content: document(size), language: 'plaintext' });
  const editor = await vscode.window.showTextDocument(doc);
  await settle(state, doc.version, 60_000);
  const settles: number[] = [];
  const lags: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Type in the middle of the document, like editing a big file.
    const at = doc.positionAt(Math.floor(doc.getText().length / 2) + run * 7);
    editor.selection = new vscode.Selection(at, at);
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    let last = 0;
    for (let k = 0; k < KEYSTROKES; k++) {
      if (k > 0) await sleep(KEY_GAP_MS);
      await vscode.commands.executeCommand('type', { text: k % 6 === 5 ? ' ' : 'x' });
      last = performance.now();
    }
    settles.push(await settle(state, doc.version, 30_000, last));
    lag.disable();
    lags.push(lag.max / 1e6);
    await sleep(200);
  }
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  return {
    settleMs: +median(settles).toFixed(1),
    maxLagMs: +median(lags).toFixed(1),
    settleRunsMs: settles.map((v) => +v.toFixed(1)),
    maxLagRunsMs: lags.map((v) => +v.toFixed(1)),
    keystrokes: KEYSTROKES,
    keyGapMs: KEY_GAP_MS,
  };
}

/** The extensionTestsPath entry. */
export async function run(): Promise<void> {
  const ext = vscode.extensions.getExtension<{ statusBarState(): State }>('attention-lens.attention-lens');
  if (!ext) throw new Error('Attention Lens is not loaded');
  const api = await ext.activate();
  const state = () => api.statusBarState();
  const result = { doc1MiB: await measure(state, 1 << 20), doc10KB: await measure(state, 10_000) };
  const out = join(process.env.ATTENTION_LENS_ROOT ?? ext.extensionPath, 'bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'statusbar.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `statusbar bench: ${JSON.stringify({ doc1MiB: { settleMs: result.doc1MiB.settleMs, maxLagMs: result.doc1MiB.maxLagMs }, doc10KB: { settleMs: result.doc10KB.settleMs, maxLagMs: result.doc10KB.maxLagMs } })}`,
  );
}
