// GroupQueryAttention's exact rows for long inputs (long-fused.ts): the rotary applied to the queries as the op
// applies it, the op's scale / softcap / window as steps, and the op features whose rows cannot be computed refused.
import { strict as assert } from 'node:assert';
import { onnx } from 'onnx-proto';
import { localRows } from '../../src/protocol/local-rows';
import { type FusedRows, fusedOperands, fusedRows } from '../../src/worker/long-fused';
import type { WireModel } from '../../src/worker/onnx-wire';

const spec = (over: Partial<FusedRows> = {}): FusedRows => ({
  heads: 2,
  kvHeads: 1,
  query: 'q',
  key: 'k',
  samples: 's',
  steps: [],
  window: -1,
  ...over,
});

describe('GroupQueryAttention rows for long inputs', () => {
  it('rotates each query half by the cos / sin of its position (non-interleaved and interleaved), then scales', () => {
    // N = 2, 2 heads of dim 2, one pair rotated by a quarter turn at position 1.
    const rotary = { cos: Float32Array.of(1, 0), sin: Float32Array.of(0, 1), half: 1, interleaved: false };
    const query = { data: Float32Array.of(1, 2, 3, 4, 1, 2, 3, 4), dims: [1, 2, 4] };
    const key = { data: Float32Array.of(1, 0, 0, 1), dims: [1, 1, 2, 2] };
    const op = fusedOperands(spec({ rotary }), query, key, 2);
    assert.ok(!('unavailable' in op));
    // Position 0 unchanged; position 1: (x1, x2) → (x1·0 − x2·1, x2·0 + x1·1) = (−x2, x1).
    assert.deepEqual(Array.from(op.q), [1, 2, -2, 1, 3, 4, -4, 3]);
    assert.deepEqual(op.recipe, { steps: [{ op: 'mul', value: 1 / Math.sqrt(2) }], causal: true, window: 0 });
    const inter = fusedOperands(spec({ rotary: { ...rotary, interleaved: true } }), query, key, 2);
    assert.ok(!('unavailable' in inter));
    assert.deepEqual(Array.from(inter.q), [1, 2, -2, 1, 3, 4, -4, 3]);
    // Row 1 of head 0 by hand: scores q·k / √2 over keys 0 and 1, softmax.
    const s = [(-2 * 1 + 1 * 0) / Math.SQRT2, (-2 * 0 + 1 * 1) / Math.SQRT2];
    const e = s.map(Math.exp);
    const row = localRows(inter, 1);
    assert.ok(Math.abs(row[0] - e[0] / (e[0] + e[1])) < 1e-7);
    assert.ok(Math.abs(row[1] - e[1] / (e[0] + e[1])) < 1e-7);
  });

  it('pairs dimensions (t, t + half) or (2t, 2t + 1) as rotary_interleaved says', () => {
    // One head of dim 4 at position 0, both pairs turned a quarter: (a, b) → (−b, a).
    const rotary = { cos: Float32Array.of(0, 0), sin: Float32Array.of(1, 1), half: 2, interleaved: false };
    const query = { data: Float32Array.of(1, 2, 3, 4), dims: [1, 1, 4] };
    const key = { data: new Float32Array(4), dims: [1, 1, 1, 4] };
    const one = spec({ heads: 1, kvHeads: 1 });
    const halves = fusedOperands({ ...one, rotary }, query, key, 1);
    const pairs = fusedOperands({ ...one, rotary: { ...rotary, interleaved: true } }, query, key, 1);
    assert.ok(!('unavailable' in halves) && !('unavailable' in pairs));
    assert.deepEqual(Array.from(halves.q), [-3, -4, 1, 2]);
    assert.deepEqual(Array.from(pairs.q), [-2, 1, -4, 3]);
  });

  it('carries the op’s scale, softcap and window', () => {
    const query = { data: new Float32Array(2 * 2 * 2), dims: [1, 2, 4] };
    const key = { data: new Float32Array(4), dims: [1, 1, 2, 2] };
    const op = fusedOperands(spec({ scale: 0.5, softcap: 30, window: 4 }), query, key, 2);
    assert.ok(!('unavailable' in op));
    assert.deepEqual(op.recipe.steps, [
      { op: 'mul', value: 0.5 },
      { op: 'div', value: 30 },
      { op: 'tanh' },
      { op: 'mul', value: 30 },
    ]);
    assert.equal(op.recipe.window, 4);
  });

  it('refuses shapes that do not fit, and caches too short for N', () => {
    const query = { data: new Float32Array(8), dims: [1, 2, 4] };
    assert.match(
      (fusedOperands(spec(), query, { data: new Float32Array(4), dims: [1, 2, 1, 2] }, 2) as { unavailable: string })
        .unavailable,
      /present_key/,
    );
    const rotary = { cos: Float32Array.of(1), sin: Float32Array.of(0), half: 1, interleaved: false };
    assert.match(
      (
        fusedOperands(spec({ rotary }), query, { data: new Float32Array(4), dims: [1, 1, 2, 2] }, 2) as {
          unavailable: string;
        }
      ).unavailable,
      /cos \/ sin caches hold 1 positions/,
    );
  });

  it('says why when the op’s rows cannot be computed (smooth softmax, a bias, position ids, unreadable caches)', () => {
    const model = {
      initializers: new Map(),
      initializerDims: new Map(),
      nodes: [],
      outputs: [],
    } as unknown as WireModel;
    const gqa = (attrs: Record<string, number>, inputs: string[]) =>
      onnx.NodeProto.create({
        opType: 'GroupQueryAttention',
        domain: 'com.microsoft',
        input: inputs,
        output: ['out', 'present_key', 'present_value', 'probs'],
        attribute: Object.entries({ num_heads: 4, kv_num_heads: 2, ...attrs }).map(([name, i]) =>
          onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i }),
        ),
      });
    const read = (attrs: Record<string, number>, inputs: string[]) => {
      const nodes: string[] = [];
      return {
        rows: fusedRows(
          gqa(attrs, inputs),
          'probs',
          model,
          'p',
          (op) => nodes.push(op),
          () => undefined,
        ),
        nodes,
      };
    };
    const plain = ['q', 'k', 'v', 'pk', 'pv', 'seqlens', 'total'];
    const ok = read({}, plain);
    assert.equal(ok.rows.unavailable, undefined);
    assert.equal(ok.rows.key, 'present_key');
    assert.ok(ok.nodes.includes('Gather'), 'the op’s sample rows are gathered');
    assert.match(read({ smooth_softmax: 1 }, plain).rows.unavailable ?? '', /smooth softmax/);
    assert.match(read({}, [...plain, '', '', '', 'bias']).rows.unavailable ?? '', /bias/);
    assert.match(read({}, [...plain, '', '', 'positions']).rows.unavailable ?? '', /position ids/);
    assert.match(read({ do_rotary: 1 }, [...plain, 'cos', 'sin']).rows.unavailable ?? '', /cos \/ sin caches/);
    // Packed QKV: the queries are sliced out in the graph.
    const packed = read({}, ['qkv', '', '', 'pk', 'pv', 'seqlens', 'total']);
    assert.equal(packed.rows.query, 'p_q');
    assert.ok(packed.nodes.includes('Slice'));
  });
});
