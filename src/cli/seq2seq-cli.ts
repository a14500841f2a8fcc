// `attention-lens analyze` on an encoder–decoder model: translate the text (or read --target), then print the JSON
// (seq2seqJson) or a table of where each target token looks in the chosen family (cross by default: the source).
import type { AttentionFamily, HeadSelector } from '../protocol/messages';
import { seq2seqJson } from '../protocol/attention-json';
import type { Engine } from '../worker/engine';

export interface Seq2SeqCliOptions {
  target?: string;
  sourceLanguage?: string;
  targetLanguage?: string;
  newTokens?: number;
  family: AttentionFamily;
  layer: number;
  head: number;
  all: boolean;
  json: boolean;
  source: string;
}

export async function runSeq2Seq(
  engine: Engine,
  request: { model: string; dtype: never; text: string; remoteHost?: string; cacheDir?: string; allowRemote: boolean },
  o: Seq2SeqCliOptions,
  fail: (message: string) => never,
): Promise<string> {
  const r = await engine.seq2seq({
    ...request,
    target: o.target,
    sourceLanguage: o.sourceLanguage,
    targetLanguage: o.targetLanguage,
    maxNewTokens: o.newTokens ?? 32,
  });
  const side = o.family === 'encoder' ? 'encoder' : 'decoder';
  if (o.layer >= r.model.layers[side])
    fail(`--layer must be below ${r.model.layers[side]} for the ${o.family} family.`);
  if (o.head >= r.model.heads[side][o.layer])
    fail(`--head must be below ${r.model.heads[side][o.layer]} in layer ${o.layer}.`);
  const slice = (family: AttentionFamily, layer: number, head: HeadSelector) =>
    engine.familySlice({ analysisId: r.analysisId, family, layer, head });
  if (o.json) {
    const doc = await seq2seqJson(
      r,
      { scope: o.all ? 'all' : 'view', family: o.family, layer: o.layer, head: o.head, source: o.source },
      slice,
    );
    return `${JSON.stringify(doc)}\n`;
  }
  const s = await slice(o.family, o.layer, o.head);
  const m = new Float32Array(s.buffer);
  const queries = o.family === 'encoder' ? r.tokens : r.targetTokens;
  const keys = o.family === 'decoder' ? r.targetTokens : r.tokens;
  const lines = [
    `${r.generated ? 'translation' : 'target'}${r.languages ? ` (${r.languages.source} → ${r.languages.target})` : ''}: ${JSON.stringify(r.translation)}`,
    `${o.family} attention, layer ${o.layer} head ${o.head} (${s.rows} × ${s.cols}):`,
  ];
  for (let i = 0; i < s.rows; i++) {
    const row = Array.from(m.subarray(i * s.cols, (i + 1) * s.cols));
    const top = row
      .map((w, j) => ({ w, j }))
      .sort((a, b) => b.w - a.w)
      .slice(0, 3)
      .map(({ w, j }) => `${JSON.stringify(keys[j].text)} ${(w * 100).toFixed(1)}%`);
    lines.push(`  ${JSON.stringify(queries[i].text).padEnd(16)} → ${top.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
