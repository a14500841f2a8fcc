import * as ort from 'onnxruntime-node';
import { encodeModel } from '/work/main/scripts/fixtures/graph-builder.mjs';
import { makeLlamaWeights, buildLlama } from '/work/main/scripts/fixtures/llama.mjs';
const spec = { hidden: 32, heads: 4, kvHeads: 2, headDim: 8, ffn: 64, layers: 2, vocabSize: 100, maxPositions: 64, ropeTheta: 10000, rmsEps: 1e-5, seed: 3 };
const s = await ort.InferenceSession.create(encodeModel(buildLlama(spec, makeLlamaWeights(spec), { layout: 'optimum', dtype: 'fp16' }), [{ domain: '', version: 17 }]));
console.log(JSON.stringify(s.inputMetadata.slice(0, 4)), JSON.stringify(s.inputMetadata.at(-1)));
