import { readFileSync } from 'node:fs';
import { readWireModel, writeWireModel } from '../src/worker/onnx-wire';
const bytes = readFileSync('/work/main/test/fixtures/models/bert-base-shaped/onnx/model.onnx');
for (let r = 0; r < 3; r++) {
  let t0 = performance.now();
  const m = readWireModel(bytes);
  const t1 = performance.now();
  const out = writeWireModel(m);
  const t2 = performance.now();
  const copy = new Uint8Array(bytes.length); copy.set(bytes);
  const t3 = performance.now();
  const b2 = Buffer.allocUnsafe(bytes.length); bytes.copy(b2);
  const t4 = performance.now();
  console.log('read', (t1 - t0).toFixed(0), 'write', (t2 - t1).toFixed(0), 'plain copy', (t3 - t2).toFixed(0), 'buffer copy', (t4 - t3).toFixed(0), out.length === bytes.length, m.nodes.length, m.initializerDims.size);
}
