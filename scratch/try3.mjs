import * as ort from 'onnxruntime-node';
import { encodeModel, GraphBuilder, DT } from '/work/main/scripts/fixtures/graph-builder.mjs';
const D = 8, H = 2, n = 3;
const x = Float32Array.from({ length: n * D }, (_, i) => Math.sin(i));
const MS = [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }];
for (const variant of ['none', 'bias', 'kpm', 'kpm2d', 'unidir']) {
  const g = new GraphBuilder();
  g.input('x', DT.FLOAT, [1, 'S', D]);
  const ins = ['x', 'x', 'x', '', '', ''];
  if (variant === 'bias') { g.floats('ab', [1, 1, n, n], [0, -5, -5, 0, 0, -5, 0, 0, 0]); ins[5] = 'ab'; }
  if (variant === 'kpm') { g.ints('kpm0', [1, n], [1, 1, 0]); ins[4] = g.op('Cast', ['kpm0'], { attrs: { to: 6 } }); }
  const outs = g.node('MultiHeadAttention', ins, { outputs: ['y', '', '', 'qk'], domain: 'com.microsoft', attrs: { num_heads: H, ...(variant === 'unidir' ? { unidirectional: 1 } : {}) } });
  g.output('y', DT.FLOAT, []); g.output('qk', DT.FLOAT, []);
  try {
    const s = await ort.InferenceSession.create(encodeModel(g.graph('t'), MS), { logSeverityLevel: 3 });
    const r = await s.run({ x: new ort.Tensor('float32', x, [1, n, D]) });
    console.log(variant, Array.from(r.qk.data).slice(0, 9).map((v) => v.toFixed(3)).join(','), '| y', Array.from(r.y.data).slice(0, 3).map((v) => v.toFixed(4)).join(','));
  } catch (e) { console.log(variant, 'FAIL', e.message.split('\n')[0].slice(0, 250)); }
}
