// The recipe the panel runs for exact rows (local-rows.ts) is only handed out when it describes the layer: masks
// that are causal, windowed or open; chains of scalar steps, softcaps and one final mask. Everything else is refused
// with a reason, and the panel asks the engine for rows instead.
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { keyRange, localRows, localTile } from '../../src/protocol/local-rows';
import { maskRecipe } from '../../src/worker/layer-operands';
import { chainRecipe } from '../../src/worker/row-recipe';

const H = -3.4028234663852886e38;

function mask(n: number, read: (i: number, j: number) => boolean, value = () => 0): ort.Tensor {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = read(i, j) ? value() : H;
  return new ort.Tensor('float32', data, [1, 1, n, n]);
}

const node = (opType: string, input: string[], output: string, attrs: onnx.IAttributeProto[] = []) =>
  onnx.NodeProto.create({ opType, input, output: [output], attribute: attrs });

describe('row recipes: what the panel may compute itself', () => {
  it('reads causal, sliding-window and open masks', () => {
    assert.deepEqual(
      maskRecipe(
        mask(9, (i, j) => j <= i),
        9,
      ),
      { causal: true, window: 0 },
    );
    assert.deepEqual(
      maskRecipe(
        mask(9, (i, j) => j <= i && j > i - 3),
        9,
      ),
      { causal: true, window: 3 },
    );
    assert.deepEqual(
      maskRecipe(
        mask(9, () => true),
        9,
      ),
      { causal: false, window: 0 },
    );
    assert.deepEqual(keyRange({ steps: [], causal: true, window: 3 }, 9, 5), { from: 3, to: 5 });
  });

  it('refuses masks that are biases, holes or other shapes', () => {
    assert.match(
      String(
        (
          maskRecipe(
            mask(
              6,
              () => true,
              () => 0.5,
            ),
            6,
          ) as { unavailable: string }
        ).unavailable,
      ),
      /biases/,
    );
    assert.match(
      String(
        (
          maskRecipe(
            mask(6, (i, j) => j !== 2 || i === 2),
            6,
          ) as { unavailable: string }
        ).unavailable,
      ),
      /more than one run|neither/,
    );
    assert.match(
      String(
        (
          maskRecipe(
            mask(6, (i, j) => Math.abs(i - j) <= 1),
            6,
          ) as { unavailable: string }
        ).unavailable,
      ),
      /neither causal/,
    );
    assert.match(
      String(
        (
          maskRecipe(
            mask(6, () => true),
            5,
          ) as { unavailable: string }
        ).unavailable,
      ),
      /mask is/,
    );
  });

  it('describes scalar steps, a softcap and the mask; refuses other ops and steps after the mask', () => {
    const product = node('MatMul', ['q', 'k'], 's');
    const softmax = (input: string) => node('Softmax', [input], 'p', [{ name: 'axis', type: 2, i: -1 }]);
    const scalar = (name: string) => ({ c: 0.125, cap: 50 })[name as 'c' | 'cap'];
    const chain = [
      node('Mul', ['s', 'c'], 'a'),
      node('Div', ['a', 'cap'], 'b'),
      node('Tanh', ['b'], 't'),
      node('Mul', ['cap', 't'], 'u'),
      node('Add', ['u', 'mask'], 'm'),
    ];
    assert.deepEqual(chainRecipe(product, chain, softmax('m'), new Set(['mask']), scalar, 17), {
      steps: [{ op: 'mul', value: 0.125 }, { op: 'div', value: 50 }, { op: 'tanh' }, { op: 'mul', value: 50 }],
      mask: 'mask',
    });
    const after = [node('Add', ['s', 'mask'], 'm'), node('Tanh', ['m'], 't')];
    assert.match(
      String(
        (chainRecipe(product, after, softmax('t'), new Set(['mask']), scalar, 17) as { unavailable: string })
          .unavailable,
      ),
      /after the mask/,
    );
    const bias = [node('Add', ['s', 'bias'], 'm')];
    assert.match(
      String(
        (chainRecipe(product, bias, softmax('m'), new Set(['mask']), scalar, 17) as { unavailable: string })
          .unavailable,
      ),
      /read bias/,
    );
    const where = [node('Where', ['cond', 's', 'neg'], 'm')];
    assert.match(
      String((chainRecipe(product, where, softmax('m'), new Set(), scalar, 17) as { unavailable: string }).unavailable),
      /pass through Where/,
    );
  });

  it('computes rows: masked keys are exactly 0, read keys sum to 1, and the softcap bends the scores', () => {
    const n = 5;
    const dim = 2;
    const q = Float32Array.from({ length: n * dim }, (_, i) => Math.sin(i + 1));
    const k = Float32Array.from({ length: dim * n }, (_, i) => Math.cos(i * 0.7));
    const base = { heads: 1, keyHeads: 1, n, dim, q, k };
    const plain = localRows({ ...base, recipe: { steps: [], causal: true, window: 2 } }, 3);
    assert.deepEqual([plain[0], plain[1], plain[4]], [0, 0, 0]);
    assert.ok(Math.abs(plain[2] + plain[3] - 1) < 1e-7);
    // By hand: s_j = q_3 · k_j, weights softmax over keys 2 and 3.
    const s = [2, 3].map((j) => q[6] * k[j * dim] + q[7] * k[j * dim + 1]);
    const e = s.map((v) => Math.exp(v - Math.max(...s)));
    assert.ok(Math.abs(plain[3] - e[1] / (e[0] + e[1])) < 1e-7);
    const capped = localRows(
      { ...base, recipe: { steps: [{ op: 'div', value: 0.1 }, { op: 'tanh' }], causal: false, window: 0 } },
      3,
    );
    assert.ok(Math.abs(capped.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    assert.ok(Math.abs(capped[3] - plain[3]) > 1e-3, 'the steps change the weights');
  });

  it("tiles are the rows' columns, clipped at the edge", () => {
    const n = 7;
    const dim = 3;
    const op = {
      heads: 2,
      keyHeads: 1,
      n,
      dim,
      recipe: { steps: [{ op: 'mul' as const, value: 0.5 }], causal: true, window: 0 },
      q: Float32Array.from({ length: 2 * n * dim }, (_, i) => Math.sin(i * 1.3)),
      k: Float32Array.from({ length: dim * n }, (_, i) => Math.cos(i * 0.4)),
    };
    const t = localTile(op, 1, 4, 2, 4);
    assert.deepEqual([t.rows, t.cols], [3, 4]);
    for (let i = 0; i < 3; i++) {
      const row = localRows(op, 4 + i).subarray(n, 2 * n);
      for (let j = 0; j < 4; j++) assert.equal(t.data[i * 4 + j], row[2 + j]);
    }
  });
});
