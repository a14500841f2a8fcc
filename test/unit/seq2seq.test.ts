// Encoder–decoder models (issue 15, engine and command line) on seeded fixtures in transformers.js's layout
// (encoder_model.onnx + a merged decoder whose If the engine inlines): T5 and the BART family (Marian, BART, mBART-50,
// M2M100, NLLB), fp32 and for some q8 and fp16 files. All three families are distributions, the decoder's
// self-attention is causal, cross rows span the source, layer 0's cross-attention equals the model computed in plain
// TypeScript from the files' weights, greedy tokens equal transformers.js's own generate (which runs the merged
// decoder's cached branch), and translators take their languages as transformers.js's translation pipeline sets them.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForSeq2SeqLM, AutoTokenizer } from '@huggingface/transformers';
import type { AttentionFamily, Seq2SeqReply } from '../../src/protocol/messages';
import { EngineClient } from '../../src/host/engine-client';
import { Engine } from '../../src/worker/engine';
import { FIXTURES } from './fixtures';
import { readWeights, type Weights } from './onnx-weights';
import { type BartPreset, referenceBartCross0 } from './reference-bart';
import { referenceT5Cross0 } from './reference-t5';

const T5 = join(FIXTURES, 't5-tiny');
const SHAPE = { heads: 4, headDim: 16 };
/** The BART family's presets, as bart-family.mjs builds them (the reference reads them, not the files' graphs). */
const MARIAN = {
  offset: 0,
  scaleEmbedding: true,
  layernormEmbedding: false,
  preNorm: false,
  finalNorm: false,
} as const;
const BART = { offset: 2, scaleEmbedding: false, layernormEmbedding: true, preNorm: false, finalNorm: false } as const;
const MBART = { offset: 2, scaleEmbedding: true, layernormEmbedding: true, preNorm: true, finalNorm: true } as const;
const M2M100 = { offset: 2, scaleEmbedding: true, layernormEmbedding: false, preNorm: true, finalNorm: true } as const;
const bart =
  (preset: Omit<BartPreset, 'activation'>, activation: BartPreset['activation'], quantized = false) =>
  (enc: Weights, dec: Weights, s: number[], t: number[]) =>
    referenceBartCross0(enc, dec, s, t, { ...SHAPE, ...preset, activation, quantized });
/**
 * The seq2seq fixtures, each with its plain-TypeScript reference for layer 0's cross-attention: the source's first
 * token (a task prefix, <s>, or the source language), and for many-to-many translators the target language forced
 * as the first generated token (English → French by default).
 */
const MODELS = [
  {
    name: 't5-tiny',
    dtype: 'fp32',
    lead: 'translate English to German',
    prefix: 'translate English to German: ',
    reference: (enc: Weights, dec: Weights, s: number[], t: number[]) =>
      referenceT5Cross0(enc, dec, s, t, { ...SHAPE, buckets: 32, maxDistance: 128, eps: 1e-6 }),
  },
  { name: 'marian-tiny', dtype: 'fp32', lead: 'The animal', reference: bart(MARIAN, 'swish') },
  { name: 'marian-tiny', dtype: 'q8', lead: 'The animal', reference: bart(MARIAN, 'swish', true) },
  // fp16: the reference reads the float16 weights but computes in float64, so within fp16's precision (as for Llama).
  { name: 'marian-tiny', dtype: 'fp16', lead: 'The animal', reference: bart(MARIAN, 'swish'), tolerance: 1e-2 },
  { name: 'bart-tiny', dtype: 'fp32', lead: '<s> The animal', forced: '<s>', reference: bart(BART, 'gelu') },
  { name: 'mbart50-tiny', dtype: 'fp32', lead: 'en_XX The animal', forced: 'fr_XX', reference: bart(MBART, 'gelu') },
  { name: 'm2m100-tiny', dtype: 'fp32', lead: '__en__ The animal', forced: '__fr__', reference: bart(M2M100, 'relu') },
  {
    name: 'nllb-tiny',
    dtype: 'fp32',
    lead: 'eng_Latn The animal',
    forced: 'fra_Latn',
    reference: bart(M2M100, 'relu'),
  },
  {
    name: 'nllb-tiny',
    dtype: 'q8',
    lead: 'eng_Latn The animal',
    forced: 'fra_Latn',
    reference: bart(M2M100, 'relu', true),
  },
] as const;
const SOURCES = ['Hello, how are you?', "The animal didn't cross the street because it was too tired.", 'it'];

describe('encoder–decoder models (T5, Marian, BART, mBART-50, M2M100 and NLLB fixtures)', function () {
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
    const label = `${fx.name} ${fx.dtype}`;
    const suffix = { fp32: '', q8: '_quantized', fp16: '_fp16' }[fx.dtype];
    const tolerance = 'tolerance' in fx ? fx.tolerance : 1e-5;
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const forced = 'forced' in fx ? fx.forced : undefined;
    const run = (text: string, extra: object = {}) =>
      engine.seq2seq({ model: dir, dtype: fx.dtype, text, allowRemote: false, maxNewTokens: 8, ...extra });

    it(`${label}: every row of every family sums to 1; decoder self-attention is causal; cross rows span the source`, async () => {
      const r = await run(SOURCES[1]);
      assert.equal(r.model.kind, 'encoder-decoder');
      assert.equal(r.model.dtype, fx.dtype);
      assert.deepEqual(r.model.layers, { encoder: 2, decoder: 2 });
      assert.deepEqual(r.model.heads, { encoder: [4, 4], decoder: [4, 4] });
      const S = r.tokens.length;
      const T = r.targetTokens.length;
      assert.equal(r.tokens.at(-1)?.text, '</s>', 'the source ends with the end token');
      const start = r.tokens
        .slice(0, 8)
        .map((t) => t.text.trim())
        .join(' ');
      assert.ok(start.startsWith(fx.lead), `the source starts with ${fx.lead}: ${start}`);
      assert.equal(r.targetTokens[0].id, config.decoder_start_token_id, 'the decoder starts from its start token');
      if (forced) assert.equal(r.targetTokens[1].text, forced, 'then the token generation must write first');
      assert.equal(!!r.languages, /_XX|__|_Latn/.test(forced ?? ''), 'languages only for many-to-many translators');
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
              // float16 probabilities carry 11 bits: their rows sum to 1 within 2e-3 (as for the Llama fp16 files).
              const within = fx.dtype === 'fp16' ? 2e-3 : 1e-5;
              assert.ok(Math.abs(sum - 1) < within, `${family} ${layer}/${head} row ${i} sums to ${sum}`);
            }
          }
    });

    it(`${label}: layer 0's cross-attention equals the model computed in plain TypeScript from its weights (≤ ${tolerance})`, async () => {
      const enc = readWeights(join(dir, 'onnx', `encoder_model${suffix}.onnx`));
      const dec = readWeights(join(dir, 'onnx', `decoder_model_merged${suffix}.onnx`));
      for (const text of SOURCES) {
        const r = await run(text, { target: 'Bonjour, comment allez-vous ?' });
        assert.equal(r.generated, false);
        if (forced) assert.equal(r.targetTokens[1].text, forced, 'a given translation is read after the forced token');
        assert.equal(r.targetTokens.at(-1)?.text, '</s>', 'and ends with the end token');
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
        assert.ok(worst <= tolerance, `max abs error ${worst}`);
      }
    });

    it(`${label}: greedy tokens equal transformers.js's own generate (its cached branch), streamed as they come`, async () => {
      const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true } as never);
      const lm = await AutoModelForSeq2SeqLM.from_pretrained(dir, { dtype: fx.dtype, local_files_only: true } as never);
      const codes = (tokenizer as unknown as { language_codes?: string[] }).language_codes;
      try {
        for (const text of SOURCES) {
          const events: number[] = [];
          const r = await engine.seq2seq(
            { model: dir, dtype: fx.dtype, text, allowRemote: false, maxNewTokens: 10 },
            (e) => {
              if ('token' in e) events.push(e.token.id);
            },
          );
          // transformers.js's translation pipeline: the source language into the template, the target forced.
          const kwargs: Record<string, unknown> = {};
          const build = (tokenizer as unknown as { _build_translation_inputs: (...a: unknown[]) => object })
            ._build_translation_inputs;
          const inputs = codes
            ? build.call(
                tokenizer,
                text,
                {},
                Object.assign(kwargs, {
                  src_lang: codes.find((c) => /^(en|eng_Latn|en_XX)$/.test(c)),
                  tgt_lang: codes.find((c) => /^(fr|fra_Latn|fr_XX)$/.test(c)),
                }),
              )
            : tokenizer(`${'prefix' in fx ? fx.prefix : ''}${text}`);
          const out = (await lm.generate({ ...inputs, ...kwargs, max_new_tokens: 10, do_sample: false } as never)) as {
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
          // Greedy: each token tops the list it was drawn from (but a forced first or last token).
          const forcedEos = config.forced_eos_token_id;
          for (const [k, t] of r.targetTokens.slice(1).entries())
            if (!(k === 9 && t.id === forcedEos) && !(k === 0 && forced))
              assert.equal(t.topk?.[0].id, t.id, 'greedy: the top of its list');
        }
      } finally {
        await lm.dispose();
      }
    });
  }

  it('many-to-many translators: the chosen languages (either spelling) set the source token and the forced target; a wrong one is a clear error', async () => {
    for (const [name, source, target, first, forced] of [
      ['m2m100-tiny', 'de', '__es__', '__de__', '__es__'],
      ['nllb-tiny', 'deu_Latn', 'spa_latn', 'deu_Latn', 'spa_Latn'],
      ['mbart50-tiny', 'de_DE', 'es_XX', 'de_DE', 'es_XX'],
    ]) {
      const model = join(FIXTURES, name);
      const params = { model, dtype: 'fp32' as const, text: SOURCES[0], allowRemote: false, maxNewTokens: 3 };
      const r = await engine.seq2seq({ ...params, sourceLanguage: source, targetLanguage: target });
      assert.equal(r.tokens[0].text, first, `${name}: the source starts with its language`);
      assert.equal(r.targetTokens[1].text, forced, `${name}: the target language is written first`);
      assert.equal(r.languages?.source.replace(/_/g, ''), first.replace(/_/g, ''));
      assert.ok(r.languages?.available.length === 4);
      const read = await engine.seq2seq({ ...params, target: 'Hola', sourceLanguage: source, targetLanguage: target });
      assert.equal(read.targetTokens[1].text, forced, `${name}: a given translation is read in the target language`);
      await assert.rejects(
        engine.seq2seq({ ...params, targetLanguage: 'klingon' }),
        (e: { code: string; message: string }) =>
          e.code === 'bad-input' && /"klingon" is not a target language this model knows.*it knows/.test(e.message),
      );
    }
    // Single-pair models have no languages to choose and ignore the settings.
    const t5 = await engine.seq2seq({
      model: T5,
      dtype: 'fp32',
      text: 'Hi',
      allowRemote: false,
      maxNewTokens: 2,
      targetLanguage: 'xx',
    });
    assert.equal(t5.languages, undefined);
  });

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
    // The pre-merge layout (decoder_model + decoder_with_past_model), which transformers.js 4 cannot load.
    const old = mkdtempSync(join(tmpdir(), 'lens-old-seq2seq-'));
    try {
      cpSync(join(FIXTURES, 'marian-tiny'), old, { recursive: true });
      renameSync(join(old, 'onnx', 'decoder_model_merged.onnx'), join(old, 'onnx', 'decoder_model.onnx'));
      copyFileSync(join(old, 'onnx', 'decoder_model.onnx'), join(old, 'onnx', 'decoder_with_past_model.onnx'));
      await assert.rejects(
        engine.seq2seq({ model: old, dtype: 'fp32', text: 'Hello', allowRemote: false }),
        (e: { code: string; message: string }) =>
          e.code === 'bad-model' && /older seq2seq layout.*decoder_with_past_model.*Export it again/.test(e.message),
      );
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
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

    it("--source-lang / --target-lang choose a translator's languages, named in the JSON and the table", () => {
      const nllb = join(FIXTURES, 'nllb-tiny');
      const r = cli(
        '--model',
        nllb,
        '--text',
        SOURCES[0],
        '--target-lang',
        'deu_Latn',
        '--generate',
        '3',
        '--json',
        '--offline',
      );
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.languages, { source: 'eng_Latn', target: 'deu_Latn' });
      assert.equal(out.targetTokens[1].text, 'deu_Latn');
      const table = cli('--model', nllb, '--text', 'Hi', '--source-lang', 'spa_Latn', '--generate', '2', '--offline');
      assert.match(table.stdout, /^translation \(spa_Latn → fra_Latn\): /);
      const gpt = cli('--model', join(FIXTURES, 'gpt2-tiny'), '--text', 'Hi', '--target-lang', 'fr', '--offline');
      assert.match(gpt.stderr, /--source-lang and --target-lang are for translators/);
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
