// The command line's exact views of one head that never need the full maps: --row Q (one query's weights) and
// --overview B (the block maximum, ⌈N/B⌉ square). They work on full and long analyses alike (long-surgery.ts).
import type { AnalysisSummary } from '../protocol/messages';
import { matrixRows, modelJson, round } from '../protocol/attention-json';
import type { Engine } from '../worker/engine';

export interface LongViewRequest {
  layer: number;
  head: number;
  row?: number;
  overview?: number;
  source: string;
}

/** The JSON document for --row / --overview: the usual header, then "attention" (the row) and/or "overview". */
export async function longViewJson(engine: Engine, s: AnalysisSummary, req: LongViewRequest): Promise<string> {
  const doc: Record<string, unknown> = {
    model: modelJson(s.model),
    source: req.source,
    n: s.n,
    tokens: s.tokens,
    ...(s.long ? { long: s.long } : {}),
  };
  if (req.row !== undefined) {
    const rows = await engine.rows({ analysisId: s.analysisId, layer: req.layer, index: req.row, direction: 'row' });
    if (req.head >= rows.heads)
      throw new RangeError(`head ${req.head} is out of range (layer ${req.layer} has ${rows.heads} heads).`);
    const all = new Float32Array(rows.buffer);
    const weights = Array.from(all.subarray(req.head * s.n, (req.head + 1) * s.n), round);
    doc.attention = { layer: req.layer, head: req.head, row: req.row, weights };
  }
  if (req.overview !== undefined) {
    const { size, buffer } = s.long
      ? await engine.overview({ analysisId: s.analysisId, layer: req.layer, head: req.head, block: req.overview })
      : { size: Math.ceil(s.n / req.overview), buffer: await fullOverview(engine, s, req) };
    doc.overview = { layer: req.layer, head: req.head, block: req.overview, matrix: matrixRows(buffer, size) };
  }
  return JSON.stringify(doc);
}

/** The block maximum of a full analysis's slice. */
async function fullOverview(engine: Engine, s: AnalysisSummary, req: LongViewRequest): Promise<ArrayBuffer> {
  const m = new Float32Array(
    (await engine.slice({ analysisId: s.analysisId, layer: req.layer, head: req.head })).buffer,
  );
  const b = req.overview!;
  const n = s.n;
  const size = Math.ceil(n / b);
  const out = new Float32Array(size * size);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const at = Math.floor(i / b) * size + Math.floor(j / b);
      if (m[i * n + j] > out[at]) out[at] = m[i * n + j];
    }
  return out.buffer;
}
