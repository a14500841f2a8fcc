import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { exposeAttention } from '../src/worker/graph-surgery';
import { readWireModel, writeWireModel } from '../src/worker/onnx-wire';
const file = '/work/main/test/fixtures/models/bert-base-shaped/onnx/model.onnx';
const bytes = readFileSync(file);
const quiet = { logSeverityLevel: 3 as const };
const t = async (label: string, f: () => Promise<unknown> | unknown) => { const t0 = performance.now(); const r = await f(); console.log(label, (performance.now() - t0).toFixed(0)); return r; };
(async () => {
  for (let r = 0; r < 2; r++) {
    const s1 = (await t('plain create', () => ort.InferenceSession.create(bytes, quiet))) as ort.InferenceSession; await s1.release();
    const sur = (await t('surgery', () => exposeAttention(bytes, 'x'))) as ReturnType<typeof exposeAttention>;
    const s2 = (await t('exposed create', () => ort.InferenceSession.create(sur.bytes, quiet))) as ort.InferenceSession; await s2.release();
    const rewritten = (await t('rewrite only', () => writeWireModel(readWireModel(bytes)))) as Uint8Array;
    const s3 = (await t('rewritten (no new outputs) create', () => ort.InferenceSession.create(rewritten, quiet))) as ort.InferenceSession; await s3.release();
    const s4 = (await t('exposed create, opt basic', () => ort.InferenceSession.create(sur.bytes, { ...quiet, graphOptimizationLevel: 'basic' }))) as ort.InferenceSession; await s4.release();
    const s5 = (await t('plain create, opt basic', () => ort.InferenceSession.create(bytes, { ...quiet, graphOptimizationLevel: 'basic' }))) as ort.InferenceSession; await s5.release();
  }
})();
