// Encoder–decoder models (issue 15, engine and command line), on the T5- and Marian-shaped fixtures in transformers.js's layout
// (encoder_model.onnx + a merged decoder whose If the engine inlines): all three families are distributions, the
// decoder's self-attention is causal, cross rows span the source, layer 0's cross-attention equals a plain
// TypeScript T5 computed from the fixture's weights, and greedy tokens equal transformers.js's own generate (which
// runs the merged decoder's cached branch).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoModelForSeq2SeqLM, AutoTokenizer } from '@huggingface/transformers';
import type { AttentionFamily, Seq2SeqReply } from '../../src/protocol/messages';
import { EngineClient } from '../../src/host/engine-client';
import { Engine } from '../../src/worker/engine';
import { FIXTURES } from './fixtures';
import { readWeights, type Weights } from './onnx-weights';
import { referenceMarianCross0 } from './reference-marian';
import { referenceT5Cross0 } from './reference-t5';

const T5 = join(FIXTURES, 't5-tiny');
const SHAPE = { heads: 4, headDim: 16 };
/** The seq2seq fixtures, each with its plain-TypeScript reference for layer 0's cross-attention. */
const MODELS = [
  {
    name: 't5-tiny',
    prefix: 'translate English to German: ',
    reference: (enc: Weights, dec: Weights, s: number[], t: number[]) =>
      referenceT5Cross0(enc, dec, s, t, { ...SHAPE, buckets: 32, maxDistance: 128, eps: 1e-6 }),
  },
  {
    name: 'marian-tiny',
    prefix: '',
    reference: (enc: Weights, dec: Weights, s: number[], t: number[]) => referenceMarianCross0(enc, dec, s, t, SHAPE),
  },
];
const SOURCES = ['Hello, how are you?', "The animal didn't cross the street because it was too tired.", 'it'];

describe('encoder–decoder models (T5 and Marian fixtures)', function () {
  this.timeout(120_000);
  const engine = new Engine();
  after(() => engine.dispose());
  const run = (text: string, extra: object = {}) =>
    engine.seq2seq({ model: T5, dtype: 'auto', text, allowRemote: false, maxNewTokens: 8, ...extra });
  const matrix = async (r: Seq2SeqReply, family: AttentionFamily, layer: number, head: number) => {
    const s = await engine.familySlice({ analysisId: r.analysisId, family, layer, head });
    return { m: new Float32Array(s.buffer), rows: s.rows, cols: s.cols };
  };

  for (const fx of MODELS) {
    const dir = join(FIXTURES, fx.name);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const run = (text: string, extra: object = {}) =>
      engine.seq2seq({ model: dir, dtype: 'auto', text, allowRemote: false, maxNewTokens: 8, ...extra });

    it(`${fx.name}: every row of every family sums to 1; decoder self-attention is causal; cross rows span the source`, async () => {
      const r = await run(SOURCES[1]);
      assert.equal(r.model.kind, 'encoder-decoder');
      assert.deepEqual(r.model.layers, { encoder: 2, decoder: 2 });
      assert.deepEqual(r.model.heads, { encoder: [4, 4], decoder: [4, 4] });
      const S = r.tokens.length;
      const T = r.targetTokens.length;
      assert.equal(r.tokens.at(-1)?.text, '</s>', 'the source ends with the end token');
      const start = r.tokens
        .slice(0, 5)
        .map((t) => t.text)
        .join(' ');
      if (fx.prefix) assert.match(start, /translate English to German/, "T5's task prefix");
      else assert.match(start, /^The animal/, 'no prefix');
      assert.equal(r.targetTokens[0].id, config.decoder_start_token_id, 'the decoder starts from its start token');
      const shapes = { encoder: [S, S], decoder: [T, T], cross: [T, S] } as const;
      for (const family of ['encoder', 'decoder', 'cross'] as const)
        for (let layer = 0; layer < 2; layer++)
          for (let head = 0; head < 4; head++) {
            const { m, rows, cols } = await matrix(r, family, layer, head);
            assert.deepEqual([rows, cols], shapes[family]);
            for (let i = 0; i < rows; i++) {
              let sum = 0;
              for (let j = 0; j < cols; j++) {
                sum += m[i * cols + j];
                if (family === 'decoder' && j > i) assert.equal(m[i * cols + j], 0, 'no look at later target tokens');
              }
              assert.ok(Math.abs(sum - 1) < 1e-5, `${family} ${layer}/${head} row ${i} sums to ${sum}`);
            }
          }
    });

    it(`${fx.name}: layer 0's cross-attention equals the model computed in plain TypeScript from its weights (≤ 1e-5)`, async () => {
      const enc = readWeights(join(dir, 'onnx', 'encoder_model.onnx'));
      const dec = readWeights(join(dir, 'onnx', 'decoder_model_merged.onnx'));
      for (const text of SOURCES) {
        const r = await run(text, { target: 'Bonjour, comment allez-vous ?' });
        assert.equal(r.generated, false);
        const ref = fx.reference(
          enc,
          dec,
          r.tokens.map((t) => t.id),
          r.targetTokens.map((t) => t.id),
        );
        let worst = 0;
        for (let h = 0; h < 4; h++) {
          const { m, cols } = await matrix(r, 'cross', 0, h);
          ref[h].forEach((row, i) => {
            row.forEach((v, j) => {
              worst = Math.max(worst, Math.abs(v - m[i * cols + j]));
            });
          });
        }
        assert.ok(worst <= 1e-5, `max abs error ${worst}`);
      }
    });

    it(`${fx.name}: greedy tokens equal transformers.js's own generate (its cached branch), streamed as they come`, async () => {
      const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true } as never);
      const lm = await AutoModelForSeq2SeqLM.from_pretrained(dir, { dtype: 'fp32', local_files_only: true } as never);
      try {
        for (const text of SOURCES) {
          const events: number[] = [];
          const r = await engine.seq2seq(
            { model: dir, dtype: 'fp32', text, allowRemote: false, maxNewTokens: 10 },
            (e) => {
              if ('token' in e) events.push(e.token.id);
            },
          );
          const inputs = tokenizer(`${fx.prefix}${text}`);
          const out = (await lm.generate({ ...inputs, max_new_tokens: 10, do_sample: false } as never)) as {
            tolist(): bigint[][];
          };
          const theirs = out.tolist()[0].map(Number);
          assert.deepEqual(
            r.targetTokens.map((t) => t.id),
            theirs,
            text,
          );
          assert.deepEqual(events, theirs.slice(1), 'each token was sent as it was chosen');
          // Greedy: each token tops the list it was drawn from (but an end token forced at the length limit).
          const forced = config.forced_eos_token_id;
          for (const [k, t] of r.targetTokens.slice(1).entries())
            if (!(k === 9 && t.id === forced)) assert.equal(t.topk?.[0].id, t.id, 'greedy: the top of its list');
        }
      } finally {
        await lm.dispose();
      }
    });
  }

  it('rollout of the self-attention families: 0.5·mean + 0.5·I, rows renormalised, multiplied through the layers', async () => {
    const r = await engine.seq2seq({ model: T5, dtype: 'fp32', text: SOURCES[1], allowRemote: false, maxNewTokens: 4 });
    for (const family of ['encoder', 'decoder'] as const) {
      const n = family === 'encoder' ? r.tokens.length : r.targetTokens.length;
      // Independently: each layer's heads averaged from the per-head slices, the identity added, rows renormalised.
      let roll: number[][] | undefined;
      for (let layer = 0; layer < 2; layer++) {
        const heads = await Promise.all(
          [0, 1, 2, 3].map(async (head) =>
            Array.from(
              new Float32Array((await engine.familySlice({ analysisId: r.analysisId, family, layer, head })).buffer),
            ),
          ),
        );
        const b = Array.from({ length: n }, (_, i) => {
          const row = Array.from(
            { length: n },
            (_, j) => heads.reduce((a, h) => a + h[i * n + j], 0) / 4 + (i === j ? 1 : 0),
          );
          const total = row.reduce((a, v) => a + v, 0);
          return row.map((v) => v / total);
        });
        const prev = roll;
        roll = prev
          ? b.map((row) => Array.from({ length: n }, (_, j) => row.reduce((a, v, k) => a + v * prev[k][j], 0)))
          : b;
        const got = new Float32Array(
          (await engine.familySlice({ analysisId: r.analysisId, family, layer, head: 'rollout' })).buffer,
        );
        let worst = 0;
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(got[i * n + j] - roll[i][j]));
        assert.ok(worst <= 1e-6, `${family} layer ${layer}: ${worst}`);
      }
    }
    await assert.rejects(
      engine.familySlice({ analysisId: r.analysisId, family: 'cross', layer: 0, head: 'rollout' }),
      /rollout is for the self-attention families/,
    );
  });

  it('stopGenerating ends a translation after its step; the reply holds what was written', async () => {
    const client = new EngineClient(join(__dirname, '..', '..', 'dist', 'worker.js'));
    try {
      const params = { model: T5, dtype: 'fp32' as const, text: SOURCES[1], allowRemote: false };
      await client.call('seq2seq', { ...params, maxNewTokens: 2 }); // loads the model
      let asked = false;
      const r = await client.call('seq2seq', { ...params, maxNewTokens: 200 }, (e) => {
        if ('token' in e && e.index === 2 && !asked) {
          asked = true;
          void client.call('stopGenerating', {});
        }
      });
      assert.ok(asked);
      const written = r.targetTokens.length - 1;
      assert.ok(written >= 3 && written < 200, `stopped after ${written}`);
      assert.equal(r.generated, true);
      const s = await client.call('familySlice', { analysisId: r.analysisId, family: 'cross', layer: 0, head: 0 });
      assert.equal(s.rows, r.targetTokens.length, 'the maps cover what was written');
    } finally {
      await client.dispose();
    }
  });

  it('a decoder-only model and an empty source are refused with clear messages', async () => {
    await assert.rejects(
      engine.seq2seq({ model: join(FIXTURES, 'gpt2-tiny'), dtype: 'fp32', text: 'Hello', allowRemote: false }),
      (e: { code: string; message: string }) => e.code === 'bad-input' && /not an encoder–decoder/.test(e.message),
    );
    await assert.rejects(run('   '), (e: { code: string }) => e.code === 'bad-input');
    // The decoder-only analysis refuses a T5 and says how its attention is read.
    await assert.rejects(
      engine.analyze({ model: T5, dtype: 'fp32', text: 'Hello', allowRemote: false }),
      (e: { code: string; message: string }) =>
        e.code === 'bad-input' && /encoder–decoder model \(t5\).*translat/.test(e.message),
    );
  });

  describe('command line', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(__dirname, '..', '..', 'dist', 'cli.js'), 'analyze', ...args], {
        encoding: 'utf8',
      });

    it('generates by default and prints the documented JSON: kind, targetTokens with topk, the cross map', () => {
      const r = cli('--model', T5, '--text', SOURCES[0], '--json', '--offline');
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(out), ['model', 'source', 'n', 'tokens', 'targetTokens', 'attention']);
      assert.equal(out.model.kind, 'encoder-decoder');
      assert.deepEqual(out.model.layers, { encoder: 2, decoder: 2 });
      assert.deepEqual(out.model.heads, { encoder: [4, 4], decoder: [4, 4] });
      assert.deepEqual(Object.keys(out.targetTokens[0]), ['text', 'id', 'special']);
      assert.ok(out.targetTokens.length >= 2 && out.targetTokens.length <= 33, 'up to 32 generated after the start');
      for (const t of out.targetTokens.slice(1)) assert.deepEqual(Object.keys(t), ['text', 'id', 'special', 'topk']);
      assert.deepEqual(Object.keys(out.attention), ['family', 'layer', 'head', 'matrix']);
      assert.equal(out.attention.family, 'cross');
      assert.equal(out.attention.matrix.length, out.targetTokens.length, 'one row per decoder input token');
      for (const row of out.attention.matrix) {
        assert.equal(row.length, out.n, 'a weight per source token');
        assert.ok(Math.abs(row.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5);
      }
    });

    it('--target reads a given translation; --all gives every family [layer][head][query][key]; --family picks one', () => {
      const target = cli('--model', T5, '--text', SOURCES[0], '--target', 'Bonjour', '--all', '--json', '--offline');
      assert.equal(target.status, 0, target.stderr);
      const out = JSON.parse(target.stdout);
      assert.equal(out.targetTokens[0].id, 0);
      assert.ok(
        out.targetTokens.every((t: { topk?: unknown }) => t.topk === undefined),
        'read, not generated',
      );
      const T = out.targetTokens.length;
      const S = out.n;
      const shape = (a: number[][][][]) => [a.length, a[0].length, a[0][0].length, a[0][0][0].length];
      assert.deepEqual(shape(out.attentions.encoder), [2, 4, S, S]);
      assert.deepEqual(shape(out.attentions.decoder), [2, 4, T, T]);
      assert.deepEqual(shape(out.attentions.cross), [2, 4, T, S]);
      const enc = cli(
        '--model',
        T5,
        '--text',
        'Hi',
        '--family',
        'encoder',
        '--layer',
        '1',
        '--head',
        '3',
        '--json',
        '--offline',
      );
      assert.equal(enc.status, 0, enc.stderr);
      const e = JSON.parse(enc.stdout);
      assert.deepEqual([e.attention.family, e.attention.layer, e.attention.head], ['encoder', 1, 3]);
      assert.equal(e.attention.matrix.length, e.n);
      const table = cli('--model', T5, '--text', 'Hi', '--generate', '3', '--offline');
      assert.equal(table.status, 0, table.stderr);
      assert.match(table.stdout, /^translation: ".*"\ncross attention, layer 0 head 0 \(4 × \d+\):/);
    });

    it('user errors: a bad family, --target with --generate, --target on a decoder-only model', () => {
      const bad = cli('--model', T5, '--text', 'Hi', '--family', 'sideways', '--offline');
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /--family must be encoder, decoder or cross/);
      const both = cli('--model', T5, '--text', 'Hi', '--target', 'x', '--generate', '2', '--offline');
      assert.match(both.stderr, /--target or --generate, not both/);
      const gpt = cli('--model', join(FIXTURES, 'gpt2-tiny'), '--text', 'Hi', '--target', 'x', '--offline');
      assert.match(gpt.stderr, /--target and --family are for encoder–decoder models/);
    });
  });
});
