import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { exposeAttention } from '../src/worker/graph-surgery';
import { feedsFor } from '../src/worker/model-runner';
const file = '/work/main/test/fixtures/models/smollm2-shaped-gqa/onnx/model.onnx';
const quiet = { logSeverityLevel: 3 as const, extra: { session: { intra_op: { allow_spinning: '0' } } } };
(async () => {
  const bytes = readFileSync(file);
  const s = exposeAttention(bytes, 'x');
  const plain = await ort.InferenceSession.create(bytes, quiet);
  const exposed = await ort.InferenceSession.create(s.bytes, quiet);
  const n = 512;
  const ids = Array.from({ length: n }, (_, i) => 1000 + ((i * 7919) % 40000));
  const fp = feedsFor(plain, ids); const fe = feedsFor(exposed, ids);
  const outs = s.attentionOutputs;
  const pre: Record<string, ort.Tensor> = {};
  for (const o of outs) pre[o] = new ort.Tensor('float32', new Float32Array(9 * n * n), [1, 9, n, n]);
  const t = async (f: () => Promise<unknown>) => { const t0 = performance.now(); await f(); return performance.now() - t0; };
  await plain.run(fp, ['logits']); await exposed.run(fe, outs); await exposed.run(fe, pre);
  const P: number[] = [], E: number[] = [], R: number[] = [];
  for (let r = 0; r < 5; r++) {
    P.push(await t(() => plain.run(fp, ['logits'])));
    E.push(await t(() => exposed.run(fe, outs)));
    R.push(await t(() => exposed.run(fe, pre)));
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[2];
  console.log('plain', med(P).toFixed(0), 'exposed', med(E).toFixed(0), 'prealloc', med(R).toFixed(0), 'ratios', (med(E) / med(P)).toFixed(3), (med(R) / med(P)).toFixed(3));
  console.log('row sum check', Array.from((pre[outs[0]].data as Float32Array).slice(0, 1)));
})();
