import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Engine } from '../../src/worker/engine';
import type { LoadedModel } from '../../src/worker/model-runner';
import { referenceLayer0 } from './reference-attention';
import { FIXTURES, SENTENCE } from './fixtures';

interface Layout {
  name: string;
  folder: string;
  dtype: 'fp32' | 'q8';
  file: string;
  kind: 'encoder' | 'causal';
}

const layouts: Layout[] = [
  { name: 'BERT encoder fp32', folder: 'bert-tiny', dtype: 'fp32', file: 'model.onnx', kind: 'encoder' },
  {
    name: 'BERT encoder int8 dynamic-quantized',
    folder: 'bert-tiny',
    dtype: 'q8',
    file: 'model_quantized.onnx',
    kind: 'encoder',
  },
  { name: 'GPT-2 decoder without past', folder: 'gpt2-tiny', dtype: 'fp32', file: 'model.onnx', kind: 'causal' },
  {
    name: 'GPT-2 decoder with past_key_values inputs',
    folder: 'gpt2-tiny-past',
    dtype: 'fp32',
    file: 'model.onnx',
    kind: 'causal',
  },
  {
    name: 'GPT-2 merged decoder (If on use_cache_branch)',
    folder: 'gpt2-tiny-merged',
    dtype: 'fp32',
    file: 'model.onnx',
    kind: 'causal',
  },
  {
    name: 'BERT encoder fused into com.microsoft Attention (recomputed in the graph)',
    folder: 'bert-tiny-ms-attention',
    dtype: 'fp32',
    file: 'model.onnx',
    kind: 'encoder',
  },
  {
    name: 'BERT encoder fused into com.microsoft MultiHeadAttention (its scores, softmaxed)',
    folder: 'bert-tiny-mha',
    dtype: 'fp32',
    file: 'model.onnx',
    kind: 'encoder',
  },
  {
    name: "BERT encoder with ONNX's own Attention (opset 23, qk_matmul_output_mode=3)",
    folder: 'bert-tiny-onnx-attention',
    dtype: 'fp32',
    file: 'model.onnx',
    kind: 'encoder',
  },
  {
    name: 'unknown model_type with tokenizer.json + ONNX',
    folder: 'unknown-type',
    dtype: 'fp32',
    file: 'model.onnx',
    kind: 'encoder',
  },
];

async function allMatrices(engine: Engine, analysisId: number, heads: number[], n: number): Promise<Float32Array[][]> {
  const out: Float32Array[][] = [];
  for (let l = 0; l < heads.length; l++) {
    const layer: Float32Array[] = [];
    for (let h = 0; h < heads[l]; h++) {
      const s = await engine.slice({ analysisId, layer: l, head: h });
      assert.equal(s.buffer.byteLength, n * n * 4, 'a slice is exactly one N×N matrix');
      layer.push(new Float32Array(s.buffer));
    }
    out.push(layer);
  }
  return out;
}

describe('engine: every fixture layout', function () {
  this.timeout(60_000);
  for (const layout of layouts) {
    describe(layout.name, () => {
      const engine = new Engine();
      after(() => engine.dispose());

      it('exposes attention whose rows sum to 1, with the right shape and kind', async () => {
        const s = await engine.analyze({
          model: join(FIXTURES, layout.folder),
          dtype: layout.dtype,
          text: SENTENCE,
          allowRemote: false,
        });
        assert.equal(s.model.kind, layout.kind);
        assert.equal(s.model.layers, 2);
        assert.deepEqual(s.model.heads, [2, 4], 'heads may differ per layer');
        assert.equal(s.tokens.length, s.n);
        const mats = await allMatrices(engine, s.analysisId, s.model.heads, s.n);
        for (const [l, layer] of mats.entries())
          for (const [h, m] of layer.entries()) {
            for (let i = 0; i < s.n; i++) {
              let sum = 0;
              for (let j = 0; j < s.n; j++) {
                sum += m[i * s.n + j];
                if (layout.kind === 'causal' && j > i)
                  assert.equal(m[i * s.n + j], 0, `causal upper triangle at L${l} H${h} (${i},${j})`);
              }
              assert.ok(Math.abs(sum - 1) <= 1e-5, `row ${i} of L${l} H${h} sums to ${sum}`);
            }
          }
      });

      it('layer 0 equals an independent computation from the model weights (max abs error <= 1e-5)', async () => {
        const s = await engine.analyze({
          model: join(FIXTURES, layout.folder),
          dtype: layout.dtype,
          text: SENTENCE,
          allowRemote: false,
        });
        const ids = s.tokens.map((t) => t.id);
        const ref = referenceLayer0(join(FIXTURES, layout.folder, 'onnx', layout.file), ids, {
          kind: layout.kind,
          heads: s.model.heads[0],
          quantized: layout.dtype === 'q8',
        });
        let worst = 0;
        for (let h = 0; h < s.model.heads[0]; h++) {
          const m = new Float32Array((await engine.slice({ analysisId: s.analysisId, layer: 0, head: h })).buffer);
          for (let i = 0; i < s.n; i++)
            for (let j = 0; j < s.n; j++) worst = Math.max(worst, Math.abs(m[i * s.n + j] - ref[h][i][j]));
        }
        assert.ok(worst <= 1e-5, `max abs error ${worst}`);
      });

      it('gives padded key positions exactly 0', async () => {
        const model = await engine.ensureModel({
          model: join(FIXTURES, layout.folder),
          dtype: layout.dtype,
          allowRemote: false,
        });
        const ids = [
          ...(
            await engine.analyze({
              model: join(FIXTURES, layout.folder),
              dtype: layout.dtype,
              text: 'a short text',
              allowRemote: false,
            })
          ).tokens.map((t) => t.id),
          0,
          0,
        ];
        const n = ids.length;
        const mask = ids.map((_, i) => (i < n - 2 ? 1 : 0));
        const layers = await (model as LoadedModel).run(ids, mask);
        for (const [l, data] of layers.entries()) {
          for (let h = 0; h < model.info.heads[l]; h++)
            for (let i = 0; i < n - 2; i++) {
              for (const j of [n - 2, n - 1])
                assert.equal(data[h * n * n + i * n + j], 0, `L${l} H${h} query ${i} key ${j}`);
            }
        }
      });
    });
  }
});

describe('engine: errors and limits', function () {
  this.timeout(60_000);
  const engine = new Engine();
  // Engines of their own (so no earlier analysis is evicted while bytes are counted), disposed at the end.
  const own: Engine[] = [engine];
  const fresh = () => {
    const e = new Engine();
    own.push(e);
    return e;
  };
  after(() => Promise.all(own.map((e) => e.dispose())));

  it('names a fused attention op it cannot expose, its attributes, and what export would work', async () => {
    await assert.rejects(
      engine.analyze({ model: join(FIXTURES, 'unknown-fused'), dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      (e: { code: string; message: string }) =>
        e.code === 'fused-attention' &&
        /unknown-fused/.test(e.message) &&
        /com\.microsoft\.FlashyAttention\(num_heads=2, window=7\)/.test(e.message) &&
        /export/i.test(e.message) &&
        /GroupQueryAttention/.test(e.message),
    );
  });

  it('reports a graph without an attention Softmax', async () => {
    await assert.rejects(
      engine.analyze({ model: join(FIXTURES, 'no-softmax'), dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      (e: { code: string; message: string; details?: string }) =>
        e.code === 'no-attention-softmax' &&
        /no-softmax/.test(e.message) &&
        /Gather/.test(e.message) &&
        /ops: /.test(e.details ?? ''),
    );
  });

  it('refuses whitespace-only text with a clear message', async () => {
    await assert.rejects(
      engine.analyze({ model: join(FIXTURES, 'bert-tiny'), dtype: 'fp32', text: ' \n\t ', allowRemote: false }),
      (e: { code: string }) => e.code === 'bad-input',
    );
  });

  it('reports a folder that does not exist', async () => {
    await assert.rejects(
      engine.analyze({ model: join(FIXTURES, 'nope'), dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      (e: { code: string; message: string }) => e.code === 'model-not-found' && /nope/.test(e.message),
    );
  });

  it('analyses the first part of a text longer than the model positions and says so', async () => {
    const long = Array.from({ length: 200 }, (_, i) => `word${i % 10}`).join(' ');
    const s = await engine.analyze({
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: long,
      allowRemote: false,
    });
    assert.equal(s.model.maxPositions, 64);
    assert.equal(s.n, 64);
    assert.equal(s.truncated, true);
    assert.equal(s.tokens[63].text, '[SEP]');
    assert.ok(s.analysedChars > 0 && s.analysedChars < long.length);
  });

  it('analyses a window around an offset of a long text, with offsets into the whole text', async () => {
    for (const words of [200, 4000]) {
      const parts = Array.from({ length: words }, (_, i) => `word${i % 10}`);
      parts[words / 2] = 'needle';
      const long = parts.join(' ');
      const around = long.indexOf('needle');
      const s = await engine.analyze({
        model: join(FIXTURES, 'bert-tiny'),
        dtype: 'fp32',
        text: long,
        around,
        allowRemote: false,
      });
      assert.equal(s.n, 64);
      assert.equal(s.truncated, true);
      assert.deepEqual([s.tokens[0].text, s.tokens[63].text], ['[CLS]', '[SEP]']);
      const at = s.tokens.findIndex((t) => t.text === 'needle');
      assert.ok(at > 16 && at < 48, `the offset's token sits near the middle (at ${at})`);
      for (const t of s.tokens)
        if (t.start !== null && t.end !== null)
          assert.equal(long.slice(t.start, t.end).toLowerCase(), t.text.replace(/^##/, ''));
      assert.ok(
        s.analysedFrom > 0 && s.analysedFrom <= around && s.analysedChars > around && s.analysedChars < long.length,
      );
    }
  });

  it('brings the first view (a slice and the thumbnails) along with the analysis when asked', async () => {
    const s = await engine.analyze({
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
      firstView: { layer: 1, head: 'mean', thumbnailSize: 24 },
    });
    assert.ok(s.first?.slice);
    const direct = await engine.slice({ analysisId: s.analysisId, layer: 1, head: 'mean' });
    assert.deepEqual(new Float32Array(s.first.slice.buffer), new Float32Array(direct.buffer));
    assert.deepEqual([s.first.thumbnails?.size, s.first.thumbnails?.heads], [16, [2, 4]]);
    const sliceOnly = await engine.analyze({
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
      firstView: { layer: 0, head: 0 },
    });
    assert.ok(sliceOnly.first?.slice && !sliceOnly.first.thumbnails);
    const bad = await engine.analyze({
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
      firstView: { layer: 9, head: 0, thumbnailSize: 24 },
    });
    assert.equal(bad.first, undefined, 'a view the model does not have: no first view, still an analysis');
  });

  // With a file and kind, layer 0 is also checked against the plain-TypeScript reference from the file's weights.
  for (const [folder, dtype, cut, file, kind] of [
    ['bert-tiny', 'fp32', true, 'model.onnx', 'encoder'],
    ['bert-tiny', 'q8', true, 'model_quantized.onnx', 'encoder'],
    ['bert-tiny-ms-attention', 'fp32', true],
    ['gpt2-tiny-past', 'fp32', true, 'model.onnx', 'causal'],
    // Its no-cache branch is inlined, so the cut sees plain nodes.
    ['gpt2-tiny-merged', 'fp32', true],
    ['llama-tiny-gqa', 'fp32', true],
    ['llama-tiny-gqa-packed', 'fp32', true],
    ['llama-tiny-external', 'fp32', true],
  ] as const)
    it(`${folder} ${dtype}: a first view of layer 0 runs the graph cut after that layer and gives the whole analysis's maps`, async () => {
      const engine = fresh();
      const base = { model: join(FIXTURES, folder), dtype, text: SENTENCE, allowRemote: false };
      const whole = await engine.analyze(base);
      const model = (engine as unknown as { model: LoadedModel }).model;
      // The first first view of a layer fetches it from the whole graph and builds the cut meanwhile; the next runs it.
      const before = await engine.analyze({ ...base, firstView: { layer: 0, head: 0 } });
      assert.equal(model.lastFirstViewCut, false);
      await model.cutsSettled();
      const first = await engine.analyze({ ...base, firstView: { layer: 0, head: 0 } });
      assert.equal(model.lastFirstViewCut, cut);
      const [cutMap, wholeMap] = [first, before].map(
        (a) => new Float32Array(a.first?.slice?.buffer ?? new ArrayBuffer(0)),
      );
      assert.equal(cutMap.length, first.n * first.n);
      // onnxruntime may fuse the cut graph differently: the same map up to float rounding.
      assert.ok(
        cutMap.every((v, i) => Math.abs(v - wholeMap[i]) <= 1e-6),
        'the cut gives the same map as the whole graph',
      );
      for (let h = 0; h < whole.model.heads[0]; h++) {
        const a = new Float32Array((await engine.slice({ analysisId: whole.analysisId, layer: 0, head: h })).buffer);
        const b = new Float32Array((await engine.slice({ analysisId: first.analysisId, layer: 0, head: h })).buffer);
        let worst = 0;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        assert.ok(worst <= 1e-6, `head ${h}: ${worst}`);
      }
      if (file && kind) {
        const ids = first.tokens.map((t) => t.id);
        const ref = referenceLayer0(join(FIXTURES, folder, 'onnx', file), ids, {
          kind,
          heads: first.model.heads[0],
          quantized: dtype === 'q8',
        });
        let worst = 0;
        for (let h = 0; h < first.model.heads[0]; h++) {
          const m = new Float32Array((await engine.slice({ analysisId: first.analysisId, layer: 0, head: h })).buffer);
          for (let i = 0; i < first.n; i++)
            for (let j = 0; j < first.n; j++) worst = Math.max(worst, Math.abs(m[i * first.n + j] - ref[h][i][j]));
        }
        assert.ok(worst <= 1e-5, `against the reference: max abs error ${worst}`);
      }
      // The rest of the pass still comes from the whole graph.
      const t = await engine.thumbnails({ analysisId: first.analysisId, size: 4 });
      assert.equal(t.heads.length, whole.model.layers);
    });

  for (const [folder, dtype] of [
    ['bert-tiny', 'fp32'],
    ['gpt2-tiny-merged', 'fp32'],
    ['llama-tiny-gqa', 'fp32'],
    ['bert-tiny', 'q8'],
  ] as const)
    it(`${folder} ${dtype}: a first view holds only its layer until something else is read, then every map equals a whole analysis's`, async () => {
      const engine = fresh();
      const base = { model: join(FIXTURES, folder), dtype, text: SENTENCE, allowRemote: false };
      const whole = await engine.analyze(base);
      const { layers, heads } = whole.model;
      const layer = layers - 1;
      const held0 = engine.heldBytes;
      const first = await engine.analyze({ ...base, firstView: { layer, head: 1 } });
      const n = first.n;
      const layerBytes = heads[layer] * n * n * 4;
      assert.equal(engine.heldBytes - held0, layerBytes, 'only the first view’s layer is held after the reply');
      const same = async (layer: number, head: number | 'mean' | 'rollout') => {
        const a = await engine.slice({ analysisId: whole.analysisId, layer, head });
        const b = await engine.slice({ analysisId: first.analysisId, layer, head });
        assert.deepEqual(new Float32Array(b.buffer), new Float32Array(a.buffer), `layer ${layer} head ${head}`);
      };
      assert.deepEqual(
        new Float32Array(first.first?.slice?.buffer ?? new ArrayBuffer(0)),
        new Float32Array((await engine.slice({ analysisId: whole.analysisId, layer, head: 1 })).buffer),
      );
      // Rows and slices of the held layer do not start the rest of the pass.
      await engine.rows({ analysisId: first.analysisId, layer, index: 1, direction: 'column' });
      await same(layer, 'mean');
      assert.equal(engine.heldBytes - held0, layerBytes);
      // An out-of-range layer is refused at once, still without the rest of the pass.
      await assert.rejects(engine.slice({ analysisId: first.analysisId, layer: layers, head: 0 }), /out of range/);
      assert.equal(engine.heldBytes - held0, layerBytes);
      // Two readers at once share one pass.
      const [t1, t2] = await Promise.all([
        engine.thumbnails({ analysisId: first.analysisId, size: 4 }),
        engine.thumbnails({ analysisId: whole.analysisId, size: 4 }),
        engine.rows({ analysisId: first.analysisId, layer: 0, index: 0, direction: 'row' }),
      ]);
      assert.deepEqual(new Float32Array(t1.buffer), new Float32Array(t2.buffer));
      const total = heads.reduce((a, h) => a + h, 0) * n * n * 4;
      assert.equal(engine.heldBytes - held0, total, 'every layer once: the first layer’s array was kept, not doubled');
      for (let l = 0; l < layers; l++) await same(l, 0);
      await same(layer, 'rollout');
      const ranked = await engine.rankHeads({ analysisId: first.analysisId, by: { kind: 'previous' } });
      assert.equal(
        ranked.heads.length,
        heads.reduce((a, h) => a + h, 0),
      );
      await engine.release({ analysisId: whole.analysisId });
      await engine.release({ analysisId: first.analysisId });
    });

  it('a rollout first view runs the whole pass at once', async () => {
    const engine = fresh();
    const base = { model: join(FIXTURES, 'bert-tiny'), dtype: 'fp32' as const, text: SENTENCE, allowRemote: false };
    const held0 = engine.heldBytes;
    const s = await engine.analyze({ ...base, firstView: { layer: 1, head: 'rollout' } });
    assert.equal(engine.heldBytes - held0, s.model.heads.reduce((a, h) => a + h, 0) * s.n * s.n * 4);
    assert.ok(s.first?.slice);
    await engine.release({ analysisId: s.analysisId });
  });

  it('a model switch while the rest of a first view runs waits for that pass, then loads the other model', async () => {
    const own = new Engine();
    try {
      const s = await own.analyze({
        model: join(FIXTURES, 'bert-tiny'),
        dtype: 'fp32',
        text: SENTENCE,
        allowRemote: false,
        firstView: { layer: 0, head: 0 },
      });
      const rest = own.thumbnails({ analysisId: s.analysisId, size: 4 });
      const other = own.analyze({ model: join(FIXTURES, 'gpt2-tiny'), dtype: 'fp32', text: 'a b', allowRemote: false });
      const t = await rest;
      assert.equal(t.heads.length, 2);
      assert.equal((await other).model.kind, 'causal');
      await assert.rejects(own.slice({ analysisId: s.analysisId, layer: 0, head: 0 }), /no longer held/);
    } finally {
      await own.dispose();
    }
  });

  it('honours maxTokens', async () => {
    const s = await engine.analyze({
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      maxTokens: 6,
      allowRemote: false,
    });
    assert.equal(s.n, 6);
    assert.equal(s.truncated, true);
  });

  it('rejects slices of unknown analyses and out-of-range heads', async () => {
    const s = await engine.analyze({
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
    });
    await assert.rejects(
      engine.slice({ analysisId: 9999, layer: 0, head: 0 }),
      (e: { code: string }) => e.code === 'unknown-analysis',
    );
    await assert.rejects(
      engine.slice({ analysisId: s.analysisId, layer: 0, head: 2 }),
      (e: { code: string }) => e.code === 'bad-input',
    );
    await assert.rejects(
      engine.slice({ analysisId: s.analysisId, layer: 5, head: 0 }),
      (e: { code: string }) => e.code === 'bad-input',
    );
  });

  it('counts tokens with the model tokenizer, special tokens included', async () => {
    const c = await engine.countTokens({
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
    });
    const s = await engine.analyze({
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
    });
    assert.equal(c.count, s.n);
    assert.equal(c.layers, 2);
  });
});
