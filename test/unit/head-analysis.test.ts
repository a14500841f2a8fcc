import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Engine } from '../../src/worker/engine';
import { FIXTURES, SENTENCE } from './fixtures';

describe('rollout and head search', function () {
  this.timeout(30_000);
  const engine = new Engine();
  after(() => engine.dispose());

  async function maps(analysisId: number, heads: number[], n: number): Promise<number[][][][]> {
    const out: number[][][][] = [];
    for (let l = 0; l < heads.length; l++) {
      const layer: number[][][] = [];
      for (let h = 0; h < heads[l]; h++) {
        const a = new Float32Array((await engine.slice({ analysisId, layer: l, head: h })).buffer);
        layer.push(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n))));
      }
      out.push(layer);
    }
    return out;
  }

  it('rollout equals (0.5·mean + 0.5·I) multiplied through the layers, computed directly', async () => {
    const s = await engine.analyze({
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
    });
    const n = s.n;
    const m = await maps(s.analysisId, s.model.heads, n);
    // Direct: B_l[i][j] = (mean_h A + I) / 2, then R = B_1 · B_0, in double precision with plain loops.
    const b = m.map((layer) =>
      Array.from({ length: n }, (_, i) =>
        Array.from(
          { length: n },
          (_, j) => (layer.reduce((a, h) => a + h[i][j], 0) / layer.length + (i === j ? 1 : 0)) / 2,
        ),
      ),
    );
    const product = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => b[1][i].reduce((a, v, k) => a + v * b[0][k][j], 0)),
    );
    const r0 = new Float32Array((await engine.slice({ analysisId: s.analysisId, layer: 0, head: 'rollout' })).buffer);
    const r1 = new Float32Array((await engine.slice({ analysisId: s.analysisId, layer: 1, head: 'rollout' })).buffer);
    let err0 = 0;
    let err1 = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        err0 = Math.max(err0, Math.abs(r0[i * n + j] - b[0][i][j]));
        err1 = Math.max(err1, Math.abs(r1[i * n + j] - product[i][j]));
      }
    assert.ok(err0 < 1e-6 && err1 < 1e-6, `max abs error ${err0}, ${err1}`);
    for (let i = 0; i < n; i++)
      assert.ok(
        Math.abs(r1.subarray(i * n, (i + 1) * n).reduce((a, v) => a + v, 0) - 1) < 1e-5,
        'rollout rows sum to 1',
      );
  });

  it('ranks every layer × head by the attention from one token to another', async () => {
    const s = await engine.analyze({
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
    });
    const m = await maps(s.analysisId, s.model.heads, s.n);
    const it = s.tokens.findIndex((t) => t.text === 'it');
    const animal = s.tokens.findIndex((t) => t.text === 'animal');
    const { heads } = await engine.rankHeads({
      analysisId: s.analysisId,
      by: { kind: 'pair', query: it, key: animal },
    });
    assert.equal(heads.length, 6);
    const want = m
      .flatMap((layer, l) => layer.map((h, k) => ({ layer: l, head: k, weight: h[it][animal] })))
      .sort((a, b) => b.weight - a.weight);
    assert.deepEqual(
      heads.map((h) => [h.layer, h.head]),
      want.map((h) => [h.layer, h.head]),
    );
    for (const [i, h] of heads.entries()) assert.ok(Math.abs(h.weight - want[i].weight) < 1e-7);
  });

  it('presets score previous-token, first-token and self attention', async () => {
    const s = await engine.analyze({
      model: join(FIXTURES, 'gpt2-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
    });
    const m = await maps(s.analysisId, s.model.heads, s.n);
    const n = s.n;
    const direct = {
      previous: (h: number[][]) => h.slice(1).reduce((a, row, i) => a + row[i], 0) / (n - 1),
      first: (h: number[][]) => h.reduce((a, row) => a + row[0], 0) / n,
      self: (h: number[][]) => h.reduce((a, row, i) => a + row[i], 0) / n,
    };
    for (const kind of ['previous', 'first', 'self'] as const) {
      const { heads } = await engine.rankHeads({ analysisId: s.analysisId, by: { kind } });
      for (const h of heads)
        assert.ok(Math.abs(h.weight - direct[kind](m[h.layer][h.head])) < 1e-6, `${kind} L${h.layer}H${h.head}`);
      assert.ok(
        heads.every((h, i) => i === 0 || heads[i - 1].weight >= h.weight),
        'sorted by weight',
      );
    }
    await assert.rejects(
      engine.rankHeads({ analysisId: s.analysisId, by: { kind: 'pair', query: 99, key: 0 } }),
      (e: { code: string }) => e.code === 'bad-input',
    );
  });
});

describe('compare two texts: heads ranked by how much they flip', function () {
  this.timeout(60_000);
  it('equals (a(q→k1) − a(q→k2)) in A minus the same in B, computed from the slices, ranked by size', async () => {
    const engine = new Engine();
    const model = join(FIXTURES, 'bert-tiny');
    const [ta, tb] = [
      "The trophy didn't fit in the suitcase because it was too big.",
      "The trophy didn't fit in the suitcase because it was too small.",
    ];
    const a = await engine.analyze({ model, dtype: 'fp32', text: ta, allowRemote: false });
    const b = await engine.analyze({ model, dtype: 'fp32', text: tb, allowRemote: false });
    const at = (s: typeof a, w: string) => s.tokens.findIndex((t) => t.text === w);
    const pick = (s: typeof a) => ({
      analysisId: s.analysisId,
      query: at(s, 'it'),
      key1: at(s, 'trophy'),
      key2: at(s, 'suitcase'),
    });
    const { heads } = await engine.compareHeads({ a: pick(a), b: pick(b) });
    assert.equal(heads.length, 6);
    for (const h of heads) {
      const diff = async (s: typeof a) => {
        const m = new Float32Array(
          (await engine.slice({ analysisId: s.analysisId, layer: h.layer, head: h.head })).buffer,
        );
        const p = pick(s);
        return m[p.query * s.n + p.key1] - m[p.query * s.n + p.key2];
      };
      const [da, db] = [await diff(a), await diff(b)];
      assert.ok(Math.abs(h.a - da) < 1e-7 && Math.abs(h.b - db) < 1e-7 && Math.abs(h.score - (da - db)) < 1e-7);
    }
    for (let i = 1; i < heads.length; i++) assert.ok(Math.abs(heads[i - 1].score) >= Math.abs(heads[i].score));
    await assert.rejects(engine.compareHeads({ a: { ...pick(a), key1: 999 }, b: pick(b) }), /token indices/);
    await engine.dispose();
  });
});
