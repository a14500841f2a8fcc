import * as ort from 'onnxruntime-node';
import { encodeModel, GraphBuilder, DT } from '/work/main/scripts/fixtures/graph-builder.mjs';
const D = 8, H = 2, n = 3;
const x = Float32Array.from({ length: n * D }, (_, i) => Math.sin(i));
async function tryOp(label, build, opsets) {
  const g = new GraphBuilder();
  g.input('x', DT.FLOAT, [1, 'S', D]);
  const outs = build(g);
  for (const o of outs) g.output(o, DT.FLOAT, []);
  try {
    const s = await ort.InferenceSession.create(encodeModel(g.graph('t'), opsets));
    const r = await s.run({ x: new ort.Tensor('float32', x, [1, n, D]) });
    for (const o of outs) console.log(label, o, r[o]?.dims, Array.from(r[o]?.data ?? []).slice(0, 6).map((v) => v.toFixed(4)).join(','));
  } catch (e) { console.log(label, 'FAIL', e.message.split('\n')[0].slice(0, 250)); }
}
const MS = [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }];
await tryOp('MHA qk_output=2', (g) => g.node('MultiHeadAttention', ['x', 'x', 'x'], { outputs: ['y', '', '', 'qk'], domain: 'com.microsoft', attrs: { num_heads: H, qk_output: 2 } }).filter(Boolean), MS);
await tryOp('MHA qk_output=1', (g) => g.node('MultiHeadAttention', ['x', 'x', 'x'], { outputs: ['y', '', '', 'qk'], domain: 'com.microsoft', attrs: { num_heads: H, qk_output: 1 } }).filter(Boolean), MS);
await tryOp('MHA 4 outputs no attr', (g) => g.node('MultiHeadAttention', ['x', 'x', 'x'], { outputs: ['y', '', '', 'qk'], domain: 'com.microsoft', attrs: { num_heads: H } }).filter(Boolean), MS);
g => 0;
await tryOp('Attention(ms) qk', (g) => { g.floats('w', [D, 3 * D], Float32Array.from({ length: 3 * D * D }, (_, i) => Math.cos(i) * 0.3)); g.floats('b', [3 * D], new Float32Array(3 * D)); return g.node('Attention', ['x', 'w', 'b'], { outputs: ['y', '', 'qk'], domain: 'com.microsoft', attrs: { num_heads: H, qk_output: 2 } }).filter(Boolean); }, MS);
await tryOp('Attention(ms) plain', (g) => { g.floats('w', [D, 3 * D], Float32Array.from({ length: 3 * D * D }, (_, i) => Math.cos(i) * 0.3)); g.floats('b', [3 * D], new Float32Array(3 * D)); return g.node('Attention', ['x', 'w', 'b'], { outputs: ['y'], domain: 'com.microsoft', attrs: { num_heads: H } }).filter(Boolean); }, MS);
for (const mode of [0, 1, 2, 3]) await tryOp(`ONNX Attention-23 mode ${mode}`, (g) => g.node('Attention', ['x', 'x', 'x'], { outputs: ['y', '', '', 'qk'], attrs: { q_num_heads: H, kv_num_heads: H, qk_matmul_output_mode: mode } }).filter(Boolean), [{ domain: '', version: 23 }]);
await tryOp('ONNX Attention-24', (g) => g.node('Attention', ['x', 'x', 'x'], { outputs: ['y', '', '', 'qk'], attrs: { q_num_heads: H, kv_num_heads: H, qk_matmul_output_mode: 3 } }).filter(Boolean), [{ domain: '', version: 24 }]);
