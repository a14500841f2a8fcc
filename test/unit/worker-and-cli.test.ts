import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { EngineClient } from '../../src/host/engine-client';
import { FIXTURES, SENTENCE } from './fixtures';

const root = join(__dirname, '..', '..');

describe('engine in a worker thread', function () {
  this.timeout(60_000);
  it('answers over the thread and the calling thread stays responsive', async () => {
    const client = new EngineClient(join(root, 'dist', 'worker.js'));
    let maxGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 5);
    try {
      for (const folder of ['bert-tiny', 'gpt2-tiny-merged', 'bert-tiny']) {
        const s = await client.call('analyze', {
          model: join(FIXTURES, folder),
          dtype: 'fp32',
          text: SENTENCE.repeat(4),
          allowRemote: false,
        });
        const slice = await client.call('slice', { analysisId: s.analysisId, layer: 1, head: 'mean' });
        assert.ok(slice.buffer instanceof ArrayBuffer);
        assert.equal(slice.buffer.byteLength, s.n * s.n * 4);
      }
    } finally {
      clearInterval(ticker);
      await client.dispose();
    }
    // Loading and running happen on the worker; the main thread only waits for messages.
    assert.ok(maxGap < 250, `main thread stalled for ${maxGap.toFixed(0)} ms`);
  });

  it('restarts after the worker dies and fails the pending call', async () => {
    const client = new EngineClient(join(root, 'dist', 'worker.js'));
    const p = client.call('analyze', {
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
    });
    await client.restart('test restart');
    await assert.rejects(p, (e: { code: string }) => e.code === 'cancelled');
    const s = await client.call('analyze', {
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
    });
    assert.equal(s.tokens[0].text, '[CLS]');
    await client.dispose();
  });
});

describe('command line', function () {
  this.timeout(60_000);
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(root, 'bin', 'attention-lens.js'), ...args], { encoding: 'utf8' });

  it('prints the documented JSON', () => {
    const r = cli(
      'analyze',
      '--model',
      join(FIXTURES, 'gpt2-tiny'),
      '--text',
      SENTENCE,
      '--json',
      '--layer',
      '1',
      '--head',
      '3',
      '--offline',
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out), ['model', 'source', 'n', 'tokens', 'attention']);
    assert.deepEqual(out.model, {
      id: join(FIXTURES, 'gpt2-tiny'),
      kind: 'causal',
      layers: 2,
      heads: [2, 4],
      kvHeads: [2, 4],
      maxPositions: 128,
      dtype: 'fp32',
    });
    assert.equal(out.source, '--text');
    assert.equal(out.n, out.tokens.length);
    assert.deepEqual(Object.keys(out.tokens[0]), ['text', 'id', 'start', 'end', 'special']);
    assert.equal(out.tokens[0].id, 464, 'GPT-2 id of "The"');
    assert.equal(out.attention.layer, 1);
    assert.equal(out.attention.head, 3);
    assert.equal(out.attention.matrix.length, out.tokens.length);
    assert.equal(out.attention.matrix[0][1], 0, 'causal');
  });

  it('--rollout gives the rollout through the last layer (or --layer); --rank-heads ranks every head', () => {
    const r = cli(
      'analyze',
      '--model',
      join(FIXTURES, 'bert-tiny'),
      '--text',
      SENTENCE,
      '--json',
      '--rollout',
      '--rank-heads',
      '10',
      '2',
      '--offline',
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.tokens[10].text, 'it');
    assert.deepEqual([out.attention.layer, out.attention.rollout], [1, true]);
    for (const row of out.attention.matrix)
      assert.ok(Math.abs(row.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-4);
    assert.equal(out.heads.length, 6, 'all layers × heads');
    assert.deepEqual(Object.keys(out.heads[0]), ['layer', 'head', 'weight']);
    for (let i = 1; i < out.heads.length; i++) assert.ok(out.heads[i - 1].weight >= out.heads[i].weight);
    const all = JSON.parse(
      cli('analyze', '--model', join(FIXTURES, 'bert-tiny'), '--text', SENTENCE, '--json', '--all', '--offline').stdout,
    );
    for (const h of out.heads) assert.ok(Math.abs(h.weight - all.attentions[h.layer][h.head][10][2]) < 1e-6);
    const first = JSON.parse(
      cli(
        'analyze',
        '--model',
        join(FIXTURES, 'bert-tiny'),
        '--text',
        SENTENCE,
        '--json',
        '--rollout',
        '--layer',
        '0',
        '--offline',
      ).stdout,
    );
    assert.equal(first.attention.layer, 0);
    assert.notDeepEqual(first.attention.matrix, out.attention.matrix);
  });

  it('--all gives [layer][head][query][key]', () => {
    const r = cli(
      'analyze',
      '--model',
      join(FIXTURES, 'bert-tiny'),
      '--text',
      'hello world',
      '--json',
      '--all',
      '--offline',
    );
    const out = JSON.parse(r.stdout);
    assert.equal(out.attentions.length, 2);
    assert.equal(out.attentions[1].length, 4);
    assert.equal(out.attentions[1][3].length, 4);
    assert.deepEqual(
      out.tokens.map((t: { text: string }) => t.text),
      ['[CLS]', 'hello', 'world', '[SEP]'],
    );
    assert.equal(out.tokens[1].id, 7592);
  });

  it('prints a readable table by default', () => {
    const r = cli('analyze', '--model', join(FIXTURES, 'bert-tiny'), '--text', SENTENCE, '--offline');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /attends most to/);
    assert.match(r.stdout, /"animal"/);
  });

  it('--generate continues the text and returns the attention of prompt + continuation', () => {
    const r = cli(
      'analyze',
      '--model',
      join(FIXTURES, 'llama-tiny'),
      '--text',
      'Arjun ate the pizza because',
      '--generate',
      '4',
      '--json',
      '--layer',
      '1',
      '--head',
      '2',
      '--offline',
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out), [
      'model',
      'source',
      'n',
      'tokens',
      'promptTokens',
      'stoppedBy',
      'generated',
      'attention',
    ]);
    assert.equal(out.stoppedBy, 'length', '4 tokens asked, none of them the end of text');
    assert.equal(out.generated.length, 4);
    assert.equal(out.n, out.promptTokens + 4);
    assert.equal(out.attention.matrix.length, out.n, 'one row per prompt and generated token');
    for (const [j, g] of out.generated.entries()) {
      assert.deepEqual(Object.keys(g), ['id', 'text', 'topk']);
      assert.equal(g.id, g.topk[0].id, 'greedy: the top of its distribution');
      assert.equal(out.tokens[out.promptTokens + j].id, g.id);
      assert.equal(out.tokens[out.promptTokens + j].generated, true);
      const row = out.attention.matrix[out.promptTokens + j];
      assert.ok(Math.abs(row.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5, 'its row sums to 1');
    }
    const table = cli(
      'analyze',
      '--model',
      join(FIXTURES, 'gpt2-tiny'),
      '--text',
      'The animal',
      '--generate',
      '2',
      '--offline',
    );
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^continuation: ".+" \(length\)\n/);
  });

  it('fails with one line and a non-zero code on user errors', () => {
    for (const args of [
      ['analyze'],
      ['analyze', '--model', join(FIXTURES, 'bert-tiny'), '--file', '/no/such/file'],
      ['analyze', '--model', join(FIXTURES, 'unknown-fused'), '--text', 'x'],
      ['analyze', '--model', join(FIXTURES, 'gpt2-tiny'), '--text', 'x', '--temperature', '1'],
      ['analyze', '--model', join(FIXTURES, 'bert-tiny'), '--text', 'x', '--generate', '4'],
      ['frobnicate'],
    ]) {
      const r = cli(...args);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
