// Runs the logit lens (see logit-lens.ts) for one position of an analysed text: the graph on tokens 0…index, fetching
// only the lens outputs, whose Gather reads the last position.
import type * as ort from 'onnxruntime-node';
import { EngineError } from '../protocol/rpc';
import { halfToFloat } from './float16';
import { feedsFor, type LoadedModel } from './model-runner';

/** Per layer, the most likely next tokens after ids[index] by that layer's residual stream; or why not. */
export async function logitLensAt(
  model: LoadedModel,
  ids: number[],
  index: number,
): Promise<{ layers: { id: number; p: number }[][] } | { unavailable: string }> {
  const lens = model.surgery.lens;
  if ('unavailable' in lens) return lens;
  if (model.info.kind !== 'causal')
    return { unavailable: 'it reads the text both ways, so no position predicts the next token' };
  const fetch = lens.layers.flatMap((l) => [l.probs, l.ids]);
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    const session = await model.lensSession();
    if (!session) return { unavailable: 'the lens graph was not built' };
    result = await session.run(feedsFor(session, ids.slice(0, index + 1)), fetch);
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 300);
    throw new EngineError('bad-model', `the model failed while computing the logit lens (${message}).`);
  }
  return {
    layers: lens.layers.map(({ probs, ids: idsName }) => {
      const p = result[probs];
      const values = p.type === 'float16' ? halfToFloat(p.data as Uint16Array) : (p.data as Float32Array);
      const tokenIds = result[idsName].data as BigInt64Array;
      return Array.from(values, (v, k) => ({ id: Number(tokenIds[k]), p: v }));
    }),
  };
}
