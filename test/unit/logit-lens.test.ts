// The logit lens (issue 16): the final norm and LM head applied to each layer's residual stream. Layer 0's lens equals
// an independent TypeScript computation from the fixture's weights; the last layer's lens is the model's own
// next-token distribution (read from its logits through the generation TopK, a different path); graphs without
// logits say so.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Engine } from '../../src/worker/engine';
import { FIXTURES, SENTENCE } from './fixtures';
import { readWeights } from './onnx-weights';
import { referenceLlamaLens0 } from './reference-llama';

const PROMPT = 'Arjun ate the pizza because';

describe('logit lens', function () {
  this.timeout(120_000);
  const engine = new Engine();
  after(() => engine.dispose());
  const request = (folder: string, dtype: 'fp32' | 'q4' = 'fp32') => ({
    model: join(FIXTURES, folder),
    dtype,
    text: PROMPT,
    allowRemote: false,
  });

  for (const [dtype, file, tolerance] of [
    ['fp32', 'model.onnx', 1e-6],
    ['q4', 'model_q4.onnx', 1e-5],
  ] as const) {
    it(`llama-tiny ${dtype}: layer 0's lens equals the layer computed from the weights in TypeScript`, async () => {
      const r = await engine.analyze(request('llama-tiny', dtype));
      const weights = readWeights(join(FIXTURES, 'llama-tiny', 'onnx', file));
      for (const index of [1, r.n - 1]) {
        const lens = await engine.logitLens({ analysisId: r.analysisId, index });
        assert.equal(lens.unavailable, undefined);
        assert.equal(lens.layers?.length, r.model.layers);
        const ref = referenceLlamaLens0(
          weights,
          r.tokens.slice(0, index + 1).map((t) => t.id),
          { heads: 4, kvHeads: 2, headDim: 16 },
        );
        const fifth = [...ref].sort((a, b) => b - a)[4];
        for (const t of lens.layers![0]) {
          assert.ok(Math.abs(t.p - ref[t.id]) <= tolerance, `token ${t.id}: ${t.p} vs ${ref[t.id]}`);
          assert.ok(t.p >= fifth - tolerance, 'among the reference top 5');
        }
      }
    });
  }

  for (const folder of ['llama-tiny', 'llama-tiny-gqa', 'gemma2-tiny-softcap', 'gpt2-tiny', 'gpt2-tiny-merged']) {
    it(`${folder}: the last layer's lens is the model's own next-token distribution at every position`, async () => {
      const g = await engine.generate({ ...request(folder), maxNewTokens: 1 });
      for (let index = 0; index < g.promptTokens; index++) {
        const lens = await engine.logitLens({ analysisId: g.analysisId, index });
        const last = lens.layers!.at(-1)!;
        const own = g.expected[index];
        assert.deepEqual(
          last.map((t) => t.id),
          own.map((t) => t.id),
          `position ${index}`,
        );
        for (const [k, t] of last.entries()) assert.ok(Math.abs(t.p - own[k].p) <= 1e-5);
        // Every layer's list is a distribution's top 5, best first.
        for (const list of lens.layers!) {
          assert.equal(list.length, 5);
          for (let k = 1; k < 5; k++) assert.ok(list[k].p <= list[k - 1].p);
          assert.ok(list.reduce((a, t) => a + t.p, 0) <= 1 + 1e-5);
        }
      }
    });
  }

  it('an encoder has no lens, and says why; a token outside the text is refused', async () => {
    const r = await engine.analyze({ ...request('bert-tiny'), text: SENTENCE });
    const lens = await engine.logitLens({ analysisId: r.analysisId, index: 0 });
    assert.equal(lens.layers, undefined);
    assert.match(lens.unavailable ?? '', /does not allow a logit lens: the graph has no logits output/);
    await assert.rejects(
      engine.logitLens({ analysisId: r.analysisId, index: r.n }),
      (e: { code: string }) => e.code === 'bad-input',
    );
  });
});
