import { strict as assert } from 'node:assert';
import { tmpdir } from 'node:os';
import * as vscode from 'vscode';
import type { AttentionLensApi } from '../../src/extension-api';
import { everyHead } from '../every-head';
import { waitFor } from './wait-for';
import type { AnalysisSummary, HostToWebview, Seq2SeqReply } from '../../src/protocol/messages';

const EXTENSION_ID = 'attention-lens.attention-lens';

async function openSentence(line: number): Promise<vscode.TextEditor> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'a workspace folder is open');
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder.uri, 'sentences.txt'));
  const editor = await vscode.window.showTextDocument(doc);
  editor.selection = new vscode.Selection(line, 0, line, doc.lineAt(line).text.length);
  return editor;
}

/** The type of a message the host posted to the panel (replies to requests have none). */
function posted(m: HostToWebview | undefined): string | undefined {
  return m && 'type' in m ? m.type : undefined;
}

/** Attention Lens panel tabs; the tab model updates asynchronously, so wait up to 5 s for `expected`. */
async function panelTabs(expected: number): Promise<number> {
  let count = 0;
  for (let i = 0; i < 50; i++) {
    count = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .filter(
        (t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('attentionLens.panel'),
      ).length;
    if (count === expected) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return count;
}

describe('Attention Lens in the real extension host', () => {
  it('activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, 'the extension is installed in development mode');
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('registers its commands', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('attentionLens.showAttention'));
  });

  it('Show Attention on a selection opens the panel with the engine result', async () => {
    await openSentence(0);
    const summary = await vscode.commands.executeCommand<AnalysisSummary>('attentionLens.showAttention');
    assert.ok(summary, 'the command resolves to the analysis');
    const texts = summary.tokens.map((t) => t.text);
    assert.deepEqual(texts.slice(0, 4), ['[CLS]', 'The', 'animal', 'didn']);
    assert.ok(texts.includes('it') && texts.includes('tired'));
    assert.equal(summary.tokens[summary.tokens.length - 1].text, '[SEP]');
    assert.equal(summary.model.layers, 2);
    assert.equal(await panelTabs(1), 1, 'one Attention Lens panel is open');
  });

  it('a second run reuses the panel', async () => {
    await openSentence(2);
    const summary = await vscode.commands.executeCommand<AnalysisSummary>('attentionLens.showAttention');
    assert.ok(summary?.tokens.some((t) => t.text === 'Arjun'));
    assert.equal(await panelTabs(1), 1);
  });

  it('shows the attention cost in the status bar', async () => {
    const ext = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!;
    await openSentence(1);
    const text = await waitFor(
      () => ext.exports.statusBarText(),
      (t) => /tok · N² =/.test(t ?? ''),
      10_000,
    );
    assert.match(text ?? '', /\d+ tok · N² = \d+/);
  });

  it('the status bar follows typing and the selection', async () => {
    const api = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!.exports;
    const doc = await vscode.workspace.openTextDocument({ content: 'The animal', language: 'plaintext' });
    const editor = await vscode.window.showTextDocument(doc);
    const settled = async (pred: (s: ReturnType<typeof api.statusBarState>) => boolean) => {
      const s = await waitFor(() => api.statusBarState(), pred);
      assert.ok(pred(s), `status bar did not settle: ${JSON.stringify(s)}`);
      return s;
    };
    const before = await settled((s) => s.exact && s.scope === 'document' && s.version === doc.version);
    assert.equal(before.n, 4, '[CLS] the animal [SEP]');
    editor.selection = new vscode.Selection(doc.positionAt(doc.getText().length), doc.positionAt(doc.getText().length));
    await vscode.commands.executeCommand('type', { text: " didn't cross the street" });
    const after = await settled(
      (s) => s.exact && s.scope === 'document' && s.version === doc.version && s.n !== before.n,
    );
    assert.equal(after.n, 10, "[CLS] the animal didn ' t cross the street [SEP]");
    assert.match(after.text ?? '', /^\$\(symbol-numeric\) 10 tok · N² = 100$/);
    editor.selection = new vscode.Selection(0, 0, 0, 'The animal'.length);
    const sel = await settled((s) => s.scope === 'selection' && s.exact);
    assert.equal(sel.n, 4);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('two runs in quick succession: the first is dropped, the second is shown', async () => {
    const editor = await openSentence(0);
    const first = vscode.commands.executeCommand<AnalysisSummary>('attentionLens.showAttention');
    editor.selection = new vscode.Selection(2, 0, 2, editor.document.lineAt(2).text.length);
    const second = vscode.commands.executeCommand<AnalysisSummary>('attentionLens.showAttention');
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a, undefined, 'the first run yields no stale result');
    assert.ok(b?.tokens.some((t) => t.text === 'Arjun'));
    assert.equal(await panelTabs(1), 1);
  });

  it('closing the panel mid-run shows nothing and reopens nothing', async () => {
    const api = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!.exports;
    await openSentence(1);
    // Keep the worker busy (it serves one request at a time) so the run is still pending when the panel closes.
    const settings = vscode.workspace.getConfiguration('attentionLens');
    const busy = api.client.call('countTokens', {
      model: settings.get<string>('model')!,
      dtype: 'fp32',
      text: 'words without a newline '.repeat(60_000),
      allowRemote: false,
    });
    const run = vscode.commands.executeCommand<AnalysisSummary>('attentionLens.showAttention');
    await panelTabs(1);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await busy;
    assert.equal(await run, undefined);
    assert.equal(await panelTabs(0), 0, 'no panel came back');
  });

  it('heat in the editor: the focus token shades the source; the cursor focuses a token; an edit turns it off', async () => {
    const api = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!.exports.panel;
    const editor = await openSentence(0);
    const summary = (await vscode.commands.executeCommand<AnalysisSummary>('attentionLens.showAttention'))!;
    const index = (text: string) => summary.tokens.findIndex((t) => t.text === text);
    const weights = summary.tokens.map(() => 0);
    weights[index('animal')] = 0.7;
    weights[index('street')] = 0.25;
    weights[index('it')] = 0.05;
    await api.receive({ type: 'focusToken', index: index('it'), weights });
    const heat = api.heat()!;
    const line = editor.document.lineAt(0).text;
    const at = (word: string) => ({ start: line.indexOf(word), end: line.indexOf(word) + word.length });
    const itAt = { start: line.indexOf(' it ') + 1, end: line.indexOf(' it ') + 3 };
    assert.deepEqual(
      heat.ranges.map((r) => ({ start: r.start, end: r.end })),
      [at('animal'), at('street'), itAt],
    );
    assert.deepEqual(
      heat.ranges.map((r) => r.level),
      [5, 2, 0],
      'shade levels follow the weights',
    );
    assert.deepEqual(heat.focus, itAt);
    await api.receive({ type: 'focusToken', index: index('it'), weights: weights.map(() => 7) });
    assert.equal(api.heat()!.ranges.length, 3, 'out-of-range weights are ignored');

    const street = line.indexOf('street') + 2;
    editor.selection = new vscode.Selection(0, street, 0, street);
    await waitFor(
      () => posted(api.lastPosted()),
      (t) => t === 'focusFromEditor',
      1_000,
      20,
    );
    assert.deepEqual(api.lastPosted(), { type: 'focusFromEditor', index: index('street') });

    await editor.edit((e) => e.insert(new vscode.Position(0, 0), 'X'));
    assert.equal(api.heat()!.stale, true);
    assert.deepEqual(api.heat()!.ranges, []);
    assert.equal(posted(api.lastPosted()), 'notice');
    await api.receive({ type: 'focusToken', index: index('it'), weights });
    assert.deepEqual(api.heat()!.ranges, [], 'no highlighting of text that moved');
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('export: JSON of every layer × head round-trips; the view JSON and a PNG are written', async () => {
    const api = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!.exports;
    await openSentence(0);
    const summary = (await vscode.commands.executeCommand<AnalysisSummary>('attentionLens.showAttention'))!;
    const dir = vscode.Uri.file(tmpdir());
    const allUri = vscode.Uri.joinPath(dir, `al-export-all-${Date.now()}.json`);
    api.panel.exportTo(allUri, 'all');
    await api.panel.receive({ type: 'exportJson', analysisId: summary.analysisId, layer: 0, head: 0 });
    const all = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(allUri)).toString('utf8'));
    assert.deepEqual(all.tokens, summary.tokens);
    assert.equal(all.model.layers, 2);
    for (const { layer, head } of everyHead(summary.model.heads)) {
      const want = new Float32Array(
        (await api.client.call('slice', { analysisId: summary.analysisId, layer, head })).buffer,
      );
      const got = all.attentions[layer][head].flat();
      assert.equal(got.length, summary.n * summary.n);
      for (const [i, v] of (got as number[]).entries()) assert.ok(Math.abs(v - want[i]) < 1e-6);
    }
    const viewUri = vscode.Uri.joinPath(dir, `al-export-view-${Date.now()}.json`);
    api.panel.exportTo(viewUri, 'view');
    await api.panel.receive({ type: 'exportJson', analysisId: summary.analysisId, layer: 1, head: 'rollout' });
    const view = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(viewUri)).toString('utf8'));
    // The CLI's shape (one builder for both): rollout is {"layer","rollout":true,"matrix"}; both carry dtype, source and n.
    assert.deepEqual(
      [view.attention.layer, view.attention.rollout, view.attention.head, view.attention.matrix.length],
      [1, true, undefined, summary.n],
    );
    assert.deepEqual([typeof view.model.dtype, typeof view.source, view.n], ['string', 'string', summary.n]);
    const pngUri = vscode.Uri.joinPath(dir, `al-export-${Date.now()}.png`);
    api.panel.exportTo(pngUri, 'view');
    const tiny = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
    await api.panel.receive({ type: 'exportPng', dataUrl: `data:image/png;base64,${tiny}` });
    assert.deepEqual(Buffer.from(await vscode.workspace.fs.readFile(pngUri)), Buffer.from(tiny, 'base64'));
    await api.panel.receive({ type: 'exportPng', dataUrl: 'data:text/html;base64,PHNjcmlwdD4=' });
    for (const u of [allUri, viewUri, pngUri]) await vscode.workspace.fs.delete(u);
  });

  it('the walkthrough: every step has a button whose command runs the step', async () => {
    const ext = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!;
    const steps: { description: string; media: { markdown: string } }[] =
      ext.packageJSON.contributes.walkthroughs[0].steps;
    const registered = await vscode.commands.getCommands(true);
    assert.equal(steps.length, 5);
    for (const step of steps) {
      const command = /\(command:([\w.]+)/.exec(step.description)?.[1];
      assert.ok(command && registered.includes(command), `step button runs a registered command: ${command}`);
      await vscode.workspace.fs.stat(vscode.Uri.joinPath(ext.extensionUri, step.media.markdown));
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    // Step 2's button is clicked with the Welcome page active: it must still act on the lesson's sentence.
    await vscode.commands.executeCommand('attentionLens.openWalkthrough');
    await waitFor(
      () => vscode.window.tabGroups.activeTabGroup.activeTab?.label ?? '',
      (label) => /Welcome|Walkthrough|Learn/i.test(label),
    );
    const summary = (await vscode.commands.executeCommand<AnalysisSummary>('attentionLens.walkthrough.show'))!;
    assert.ok(summary, 'step 2 analysed something');
    const sample = vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'attention-lens-lesson')!;
    assert.ok(sample, 'the sample is open');
    assert.equal(
      sample.document.getText(sample.selection),
      "The animal didn't cross the street because it was too tired.",
    );
    assert.equal(sample.document.isDirty, false, 'no dirty Untitled file left behind');
    // The tab model updates asynchronously.
    const panelTab = (await waitFor(
      () =>
        vscode.window.tabGroups.all
          .flatMap((g) => g.tabs)
          .find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('attentionLens.panel')),
      (t) => t !== undefined,
    ))!;
    assert.ok(panelTab, 'the panel has a tab');
    assert.notEqual(panelTab.group.viewColumn, sample.viewColumn, 'the panel opens beside the sample');
    const welcome = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .find((t) => /Welcome|Walkthrough|Learn/i.test(t.label));
    if (welcome) assert.notEqual(welcome.group.viewColumn, panelTab.group.viewColumn, 'and not over the walkthrough');
    const editor = await vscode.commands.executeCommand<vscode.TextEditor>('attentionLens.walkthrough.openSample');
    assert.equal(editor.document.uri.scheme, 'attention-lens-lesson');
    const it = await vscode.commands.executeCommand<number>('attentionLens.walkthrough.focusWord', 'it');
    assert.equal(summary.tokens[it].text, 'it');
    assert.deepEqual(ext.exports.panel.lastPosted(), { type: 'lockToken', index: it });
    assert.equal(await vscode.commands.executeCommand('attentionLens.walkthrough.nextHead'), true);
    assert.deepEqual(ext.exports.panel.lastPosted(), { type: 'nextHead' });
    const cost = await vscode.commands.executeCommand<string>('attentionLens.walkthrough.explainCost');
    assert.match(cost, /N² = [\d,]+ scores per head per layer × 6 heads over 2 layers = .*16\.4 billion/);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('Compare Two Texts ranks the heads whose choice between "trophy" and "suitcase" flips, and shows them in the panel', async () => {
    const api = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!.exports;
    const result = await vscode.commands.executeCommand<{
      heads: { layer: number; head: number; score: number }[];
      a: AnalysisSummary;
    }>('attentionLens.compareTexts', {
      texts: [
        "The trophy didn't fit in the suitcase because it was too big.",
        "The trophy didn't fit in the suitcase because it was too small.",
      ],
      query: 'it',
      keys: ['trophy', 'suitcase'],
    });
    assert.ok(result, 'a comparison');
    assert.equal(result.heads.length, 6, 'every layer × head of the fixture');
    for (let i = 1; i < result.heads.length; i++)
      assert.ok(Math.abs(result.heads[i - 1].score) >= Math.abs(result.heads[i].score));
    const posted = api.panel.lastPosted();
    assert.ok(posted && 'type' in posted && posted.type === 'comparison', JSON.stringify(posted)?.slice(0, 200));
    assert.match(posted.title, /"it" moves between "trophy" and "suitcase"/);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('a document over 2,000,000 characters gets the ≈ estimate only, an exact count on request; analyses never wait behind a count', async () => {
    const api = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!.exports;
    const content = 'the animal was tired\n'.repeat(100_000);
    const doc = await vscode.workspace.openTextDocument({ content, language: 'plaintext' });
    await vscode.window.showTextDocument(doc);
    const wait = async (pred: () => boolean, what: string) => {
      await waitFor(pred, (ok) => ok, 15_000);
      assert.ok(
        pred(),
        `${what}: ${JSON.stringify(api.statusBarState())}; active editor has ${vscode.window.activeTextEditor?.document.getText().length} characters`,
      );
    };
    await wait(
      () => api.statusBarState().n === Math.ceil(content.length / 4) && api.statusBarState().version === doc.version,
      'estimate shown',
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(api.statusBarState().exact, false, 'no exact count without a request');
    assert.match(api.statusBarState().text ?? '', /≈/);
    assert.match(api.statusBarTooltip(), /Count exactly\]\(command:attentionLens\.countExactly\)/);
    await vscode.commands.executeCommand('attentionLens.countExactly');
    await wait(() => api.statusBarState().exact, 'exact count after the request');
    assert.equal(api.statusBarState().n, 100_000 * 4 + 2, '[CLS] + 4 words a line + [SEP]');
    // The counter is its own process: a long count does not delay an analysis.
    const settings = vscode.workspace.getConfiguration('attentionLens');
    const busy = api.counter.call('countTokens', {
      model: settings.get<string>('model')!,
      dtype: 'fp32',
      text: 'words without a newline '.repeat(400_000),
      allowRemote: false,
    });
    let countDone = 0;
    void busy.then(() => {
      countDone = Date.now();
    });
    await openSentence(2);
    const summary = await vscode.commands.executeCommand<AnalysisSummary>('attentionLens.showAttention');
    const analysed = Date.now();
    assert.ok(
      summary?.tokens.some((t) => t.text === 'pizza'),
      JSON.stringify(api.panel.lastPosted()).slice(0, 300),
    );
    await busy;
    assert.ok(countDone >= analysed, 'the analysis finished while the count was still running');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('a workspace value of attentionLens.model that overrides the user setting is named in the status-bar tooltip', async () => {
    const api = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!.exports;
    const config = vscode.workspace.getConfiguration('attentionLens');
    const user = config.inspect<string>('model')!.globalValue!;
    const doc = await vscode.workspace.openTextDocument({ content: 'The animal', language: 'plaintext' });
    await vscode.window.showTextDocument(doc);
    const other = user.replace(/bert-tiny$/, 'gpt2-tiny');
    try {
      await config.update('model', other, vscode.ConfigurationTarget.Workspace);
      await waitFor(
        () => api.statusBarTooltip(),
        (t) => t.includes('set by this workspace'),
        15_000,
      );
      assert.match(
        api.statusBarTooltip(),
        /Model \*\*.*gpt2-tiny\*\* is set by this workspace and overrides your own choice \(.*bert-tiny\)/,
      );
    } finally {
      await config.update('model', undefined, vscode.ConfigurationTarget.Workspace);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
    await waitFor(
      () => api.statusBarTooltip(),
      (t) => !t.includes('set by this workspace'),
    );
    assert.doesNotMatch(api.statusBarTooltip(), /set by this workspace/);
  });

  it('Show Attention for a Translation reads the given target on an encoder–decoder; its JSON export has every family', async () => {
    const api = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!.exports;
    const config = vscode.workspace.getConfiguration('attentionLens');
    const user = config.inspect<string>('model')!.globalValue!;
    await config.update('model', user.replace(/bert-tiny$/, 't5-tiny'), vscode.ConfigurationTarget.Global);
    try {
      await openSentence(0);
      await vscode.commands.executeCommand('attentionLens.showTranslation', 'Bonjour, comment allez-vous ?');
      const shown = await waitFor(
        () => api.panel.lastPosted(),
        (m) => !!m && 'type' in m && m.type === 'seq2seq',
        30_000,
      );
      const reply = (shown as { reply: Seq2SeqReply }).reply;
      assert.equal(reply.generated, false, 'the typed translation was read, not generated');
      assert.match(reply.translation, /Bonjour/);
      // The editor heat shades the source text (the task prefix the model added is not in the editor).
      const line = vscode.window.activeTextEditor!.document.lineAt(0).text;
      const animal = reply.tokens.findIndex((t) => /animal/.test(t.text));
      const street = reply.tokens.findIndex((t) => /street/.test(t.text));
      const weights = reply.tokens.map(() => 0);
      weights[animal] = 0.8;
      weights[street] = 0.2;
      weights[0] = 1;
      await api.panel.receive({ type: 'focusToken', index: animal, weights });
      const heat = api.panel.heat()!;
      const spans = heat.ranges.map((r) => line.slice(r.start, r.end).trim());
      assert.ok(spans.some((t) => /animal/.test(t)) && spans.some((t) => /street/.test(t)), JSON.stringify(spans));
      assert.ok(!spans.some((t) => /translate/.test(t)), 'the prefix token is never placed in the editor');
      assert.match(line.slice(heat.focus!.start, heat.focus!.end), /animal/);
      const uri = vscode.Uri.joinPath(vscode.Uri.file(tmpdir()), `al-export-seq2seq-${Date.now()}.json`);
      api.panel.exportTo(uri, 'all');
      await api.panel.receive({
        type: 'exportSeq2SeqJson',
        analysisId: reply.analysisId,
        family: 'cross',
        layer: 0,
        head: 0,
      });
      const doc = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8'));
      const S = reply.tokens.length;
      const T = reply.targetTokens.length;
      assert.equal(doc.model.kind, 'encoder-decoder');
      assert.deepEqual(
        doc.targetTokens.map((t: { id: number }) => t.id),
        reply.targetTokens.map((t) => t.id),
      );
      assert.deepEqual([doc.attentions.cross[1][3].length, doc.attentions.cross[1][3][0].length], [T, S]);
      assert.deepEqual([doc.attentions.encoder[0][0].length, doc.attentions.decoder[0][0].length], [S, T]);
      await vscode.workspace.fs.delete(uri);
    } finally {
      await config.update('model', user, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  it("an encoder–decoder model: the status bar's tooltip explains the three families' costs", async () => {
    const api = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!.exports;
    const config = vscode.workspace.getConfiguration('attentionLens');
    const user = config.inspect<string>('model')!.globalValue!;
    const doc = await vscode.workspace.openTextDocument({ content: 'Hello, how are you?', language: 'plaintext' });
    await vscode.window.showTextDocument(doc);
    try {
      await config.update('model', user.replace(/bert-tiny$/, 't5-tiny'), vscode.ConfigurationTarget.Global);
      await waitFor(
        () => api.statusBarTooltip(),
        (t) => t.includes('An encoder–decoder'),
        15_000,
      );
      const tip = api.statusBarTooltip();
      const n = Number(/N_src = ([\d,]+)/.exec(tip)?.[1].replace(/,/g, ''));
      assert.ok(n > 3, tip);
      assert.match(tip, new RegExp(`encoder self-attention N_src² = \\*\\*${(n * n).toLocaleString()}\\*\\*`));
      assert.match(tip, /decoder self-attention N_tgt²/);
      assert.match(tip, /cross-attention N_tgt · N_src/);
    } finally {
      await config.update('model', user, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  it('Select Model stores the choice and the status bar recounts with the new tokenizer', async () => {
    const api = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!.exports;
    const config = vscode.workspace.getConfiguration('attentionLens');
    const before = config.get<string>('model')!;
    const gpt2 = before.replace(/bert-tiny$/, 'gpt2-tiny');
    const doc = await vscode.workspace.openTextDocument({ content: "The animal didn't cross", language: 'plaintext' });
    await vscode.window.showTextDocument(doc);
    // First the count of this document with the model before (the previous test's document must not linger).
    const first = await waitFor(
      () => api.statusBarState(),
      (st) => st.exact && st.scope === 'document' && st.n === 8,
      15_000,
    );
    assert.equal(
      first.n,
      8,
      `BERT counts [CLS] the animal didn ' t cross [SEP]: ${JSON.stringify(first)}; active: ${JSON.stringify(vscode.window.activeTextEditor?.document.getText())} ${vscode.window.activeTextEditor?.document.uri.toString()}; visible: ${vscode.window.visibleTextEditors.map((e) => e.document.uri.toString()).join(', ')}`,
    );
    try {
      assert.equal(await vscode.commands.executeCommand('attentionLens.selectModel', gpt2), gpt2);
      assert.equal(vscode.workspace.getConfiguration('attentionLens').get('model'), gpt2);
      const s = await waitFor(
        () => api.statusBarState(),
        (st) => st.exact && st.n === 5,
        15_000,
      );
      assert.equal(
        s.n,
        5,
        `GPT-2 counts 5 tokens and adds no [CLS]/[SEP] (status ${JSON.stringify(s)}; active editor: ${JSON.stringify(vscode.window.activeTextEditor?.document.getText())}, version ${vscode.window.activeTextEditor?.document.version})`,
      );
    } finally {
      await vscode.workspace
        .getConfiguration('attentionLens')
        .update('model', before, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  it('a document closed while it is analysed: the analysis still shows, nothing is highlighted, no error', async () => {
    const api = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID)!.exports;
    const doc = await vscode.workspace.openTextDocument({
      content: 'Arjun ate the pizza because he was hungry.',
      language: 'plaintext',
    });
    const editor = await vscode.window.showTextDocument(doc);
    editor.selection = new vscode.Selection(0, 0, 0, doc.lineAt(0).text.length);
    const settings = vscode.workspace.getConfiguration('attentionLens');
    const busy = api.client.call('countTokens', {
      model: settings.get<string>('model')!,
      dtype: 'fp32',
      text: 'words without a newline '.repeat(60_000),
      allowRemote: false,
    });
    const run = vscode.commands.executeCommand<AnalysisSummary>('attentionLens.showAttention');
    // Close it once the run has read the text (the panel says it is analysing), not before the command starts.
    await waitFor(
      () => api.panel.lastPosted(),
      (m) => !!m && 'type' in m && m.type === 'loading',
      10_000,
      5,
    );
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await busy;
    const summary = await run;
    assert.ok(
      summary?.tokens.some((t) => t.text === 'arjun' || t.text === 'Arjun'),
      'the text as it was when the run started',
    );
    await api.panel.receive({ type: 'focusToken', index: 1, weights: summary.tokens.map(() => 0.5) });
    assert.deepEqual(api.panel.heat()?.ranges ?? [], [], 'no editor shows that text any more');
  });
});
