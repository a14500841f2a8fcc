import * as ort from 'onnxruntime-node';
import { encodeModel, onnx } from '/work/main/scripts/fixtures/graph-builder.mjs';
import { makeLlamaWeights, buildLlama } from '/work/main/scripts/fixtures/llama.mjs';
const spec = { hidden: 64, heads: 4, kvHeads: 2, headDim: 16, ffn: 128, layers: 2, vocabSize: 1000, maxPositions: 256, ropeTheta: 10000, rmsEps: 1e-5, seed: 3, slidingWindow: process.env.W ? Number(process.env.W) : undefined, softcap: process.env.CAP ? Number(process.env.CAP): undefined };
const ops = [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }];
const ids = [5, 17, 300, 42, 7, 99];
const n = ids.length;
async function run(variant) {
  const w = makeLlamaWeights(spec);
  const graph = buildLlama(spec, w, variant);
  if (variant.layout !== 'optimum') {
    for (const node of graph.node) if (node.opType === 'GroupQueryAttention') {
      node.attribute.push({ name: 'qk_output', type: 2, i: 2 });
      const name = node.name + '/qk'; node.output.push(name); graph.output.push({ name });
    }
  } else {
    for (const node of graph.node) if (node.opType === 'Softmax') graph.output.push({ name: node.output[0] });
  }
  const bytes = encodeModel(graph, ops);
  const t0 = performance.now();
  const s = await ort.InferenceSession.create(bytes);
  const feeds = {};
  const i64 = (v, d) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), d);
  feeds.input_ids = i64(ids, [1, n]);
  feeds.attention_mask = i64(ids.map(() => 1), [1, n]);
  if (s.inputNames.includes('position_ids')) feeds.position_ids = i64(ids.map((_, i) => i), [1, n]);
  if (s.inputNames.includes('num_logits_to_keep')) feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.from([1n]), []);
  for (const name of s.inputNames) if (name.startsWith('past')) feeds[name] = variant.dtype === 'fp16' ? new ort.Tensor('float16', new Uint16Array(0), [1, 2, 0, 16]) : new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, 16]);
  const out = await s.run(feeds);
  const attn = s.outputNames.filter((o) => !o.startsWith('present') && o !== 'logits');
  const a = out[attn[0]];
  console.log(JSON.stringify(variant), 'ms', (performance.now()-t0).toFixed(0), a.type, a.dims, 'logits', out.logits.dims);
  return a;
}
const base = await run({ layout: 'optimum', dtype: 'fp32' });
const toF = (t) => t.type === 'float16' ? Float32Array.from(t.data, (b) => { const s = b >> 15 ? -1 : 1, e = (b >> 10) & 31, m = b & 1023; return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15); }) : t.data;
for (const v of [{ layout: 'gqa', dtype: 'fp32' }, { layout: 'gqa-packed', dtype: 'fp32' }, { layout: 'optimum', dtype: 'fp16' }, { layout: 'optimum', dtype: 'fp32', q4: true }, { layout: 'optimum', dtype: 'fp16', q4: true }, { layout: 'gqa', dtype: 'fp16' }]) {
  try {
    const a = await run(v);
    const d = toF(a);
    let max = 0; for (let i = 0; i < d.length; i++) max = Math.max(max, Math.abs(d[i] - base.data[i]));
    console.log('  max diff vs optimum fp32', max, d.length, base.data.length);
  } catch (e) { console.log('  FAIL', JSON.stringify(v), e.message.slice(0, 300)); }
}
// smooth_softmax test
{
  const w = makeLlamaWeights(spec);
  const graph = buildLlama(spec, w, { layout: 'gqa', dtype: 'fp32' });
  for (const node of graph.node) if (node.opType === 'GroupQueryAttention') {
    node.attribute.push({ name: 'qk_output', type: 2, i: 2 }, { name: 'smooth_softmax', type: 2, i: 1 });
    const name = node.name + '/qk'; node.output.push(name); graph.output.push({ name });
  }
  try { const s = await ort.InferenceSession.create(encodeModel(graph, ops)); console.log('smooth_softmax+qk_output session ok');
  const i64 = (v, d) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), d);
  const feeds = { input_ids: i64(ids, [1, n]), attention_mask: i64(ids.map(() => 1), [1, n]) };
  for (const name of s.inputNames) if (name.startsWith('past')) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, 16]);
  const out = await s.run(feeds); const a = out[s.outputNames.find((o) => o.endsWith('/qk'))].data; console.log('row0 sum', a[0]+a[1]+a[2]+a[3]+a[4]+a[5], Array.from(a.slice(0,6)));
  } catch (e) { console.log('smooth FAIL', e.message.slice(0, 300)); }
}
