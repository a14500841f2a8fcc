import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { exposeAttentionInFile } from '../src/worker/graph-surgery';
const file = '/work/main/test/fixtures/models/bert-base-shaped/onnx/model.onnx';
const quiet = { logSeverityLevel: 3 as const };
const t = async (label: string, f: () => Promise<unknown> | unknown) => { const t0 = performance.now(); const r = await f(); console.log(label, (performance.now() - t0).toFixed(0)); return r; };
(async () => {
  for (let r = 0; r < 3; r++) {
    const s1 = (await t('plain create from path', () => ort.InferenceSession.create(file, quiet))) as ort.InferenceSession; await s1.release();
    const sur = (await t('surgery in file', () => exposeAttentionInFile(file, 'x'))) as { bytes: Uint8Array };
    console.log('rewritten bytes', sur.bytes.length);
    const s2 = (await t('exposed create', () => ort.InferenceSession.create(sur.bytes, { ...quiet, extra: { session: { model_external_initializers_file_folder_path: dirname(file) } } }))) as ort.InferenceSession; await s2.release();
  }
})();
