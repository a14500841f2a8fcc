// Long inputs (issue 17) on the SmolLM2-shaped fixture (30 layers × 9 heads, fp32): for each N, one fresh process
// runs the plain model's forward pass (onnxruntime straight on the file, the same threads as the long session), and
// another the engine's long analysis (model loaded first, then the analysis with its first overview, then the grid).
// Each prints its time and peak RSS after one pass and after a second; the long process then times exact rows and
// 256 × 256 tiles of warmed layers.
// Merged into bench/results.json as longContext.n1024 / n4096 / n8192.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Engine } from '../../src/worker/engine';
import { feedsFor } from '../../src/worker/model-runner';

const root = join(__dirname, '..', '..');
// `--gqa`: the same shape as one GroupQueryAttention per layer (onnxruntime-genai's layout; long-fused.ts), into
// longContext.gqa.
const GQA = process.argv.includes('--gqa');
const MODEL = join(root, 'test', 'fixtures', 'models', GQA ? 'smollm2-shaped-gqa' : 'smollm2-shaped');

function ids(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 100 + ((i * 7919) % 40000));
}

function p95(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return +s[Math.min(s.length - 1, Math.floor(s.length * 0.95))].toFixed(1);
}

async function plain(n: number) {
  const session = await ort.InferenceSession.create(join(MODEL, 'onnx', 'model.onnx'), {
    intraOpNumThreads: availableParallelism(),
  });
  const t = performance.now();
  await session.run(feedsFor(session, ids(n)), ['logits']);
  const ms = performance.now() - t;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  // A second pass, as a user's second analysis: onnxruntime's arena grows on it.
  await session.run(
    feedsFor(
      session,
      ids(n).map((i) => i + 1),
    ),
    ['logits'],
  );
  return { ms, peakRssMb, peak2RssMb: process.resourceUsage().maxRSS / 1024 };
}

async function long(n: number) {
  const engine = new Engine();
  const base = { model: MODEL, dtype: 'fp32' as const, allowRemote: false };
  // Loads the model (the main session) on a short text first, as a warm panel has it.
  await engine.analyze({ ...base, text: 'a b c' });
  const textIds = ids(n);
  const model = (engine as unknown as { model: { tokenizer: { decode(i: number[]): string } } }).model;
  const text = model.tokenizer.decode(textIds);
  // As the panel does: the analysis with its first view (layer 0, head 0: the panel's default), then the grid,
  // which needs every layer (the whole pass).
  const shown = async (text: string) => {
    const t = performance.now();
    const r = await engine.analyze({ ...base, text, maxTokens: n, mode: 'long', firstView: { layer: 0, head: 0 } });
    const firstMs = performance.now() - t;
    const cut = engine.lastLongFirstCut;
    await engine.thumbnails({ analysisId: r.analysisId, size: 24 });
    return { r, firstMs, gridMs: performance.now() - t, cut };
  };
  const { r, firstMs: ms, gridMs, cut } = await shown(text);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  // Again on another text of the same length: the long session (built on the first long analysis) is warm now.
  const text2 = model.tokenizer.decode(textIds.map((id) => id + 1));
  const { r: r2, firstMs: warmMs, gridMs: warmGridMs } = await shown(text2);
  await engine.release({ analysisId: r2.analysisId });
  const peak2RssMb = process.resourceUsage().maxRSS / 1024;
  // Rows and tiles once every layer's rows graphs are built and have run once (the warm-up starts with the reply;
  // a hover on a layer before its turn waits for that layer's graphs, 50–250 ms).
  await (engine as unknown as { longRunner: { warming: Promise<void> } }).longRunner.warming;
  const rowMs: number[] = [];
  const tileMs: number[] = [];
  for (let k = 0; k < 40; k++) {
    const t1 = performance.now();
    await engine.rows({
      analysisId: r.analysisId,
      layer: k % r.model.layers,
      index: (k * 397) % r.n,
      direction: 'row',
    });
    rowMs.push(performance.now() - t1);
  }
  for (let k = 0; k < 12; k++) {
    const t2 = performance.now();
    await engine.tile({
      analysisId: r.analysisId,
      layer: (k * 7) % r.model.layers,
      head: k % 9,
      row: (k * 256) % Math.max(1, r.n - 256),
      col: 0,
      size: 256,
    });
    tileMs.push(performance.now() - t2);
  }
  return {
    n: r.n,
    cut,
    ms,
    warmMs,
    gridMs,
    warmGridMs,
    peakRssMb,
    peak2RssMb,
    // What the analysis holds once every layer came (its summary's figure is an estimate when the first overview
    // came from a cut).
    keptMb:
      (engine as unknown as { analyses: Map<number, { bytes: number }> }).analyses.get(r.analysisId)!.bytes / 2 ** 20,
    estimateMb: r.long!.keptBytes / 2 ** 20,
    rowMs: p95(rowMs),
    tileMs: p95(tileMs),
  };
}

(async () => {
  const at = process.argv.indexOf('--child');
  if (at > 0) {
    const [mode, n] = process.argv.slice(at + 1);
    const out = mode === 'plain' ? await plain(Number(n)) : await long(Number(n));
    console.log(JSON.stringify(out));
    process.exit(0);
  }
  const sizes = process.argv
    .slice(2)
    .filter((a) => a !== '--gqa')
    .map(Number)
    .filter(Boolean);
  const results: Record<string, unknown> = {};
  for (const n of sizes.length ? sizes : [1024, 4096, 8192]) {
    const child = (mode: string) => {
      const args = ['--import', 'tsx', __filename, '--child', mode, String(n), ...(GQA ? ['--gqa'] : [])];
      const r = spawnSync(process.execPath, args, {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      if (r.status !== 0) throw new Error(`${mode} ${n}: ${r.stderr.slice(-2000)}`);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    };
    const p = child('plain');
    const l = child('long');
    const figure = {
      // Engine only: Show Attention's analyze call with its first overview (layer 0, from the long graph cut after
      // it), ÷ the plain forward pass; the second analysis of the process (coldRatio: the first, which builds the
      // long graph). gridRatio: until the layer × head grid, which needs the whole pass. The panel's paint of a
      // 256 × 256 overview adds a few ms (see the README and bench-long-panel.mjs).
      firstHeatmapRatio: +(l.warmMs / p.ms).toFixed(3),
      coldRatio: +(l.ms / p.ms).toFixed(3),
      gridRatio: +(l.warmGridMs / p.ms).toFixed(3),
      coldGridRatio: +(l.gridMs / p.ms).toFixed(3),
      firstFromCut: l.cut,
      longMs: Math.round(l.warmMs),
      coldLongMs: Math.round(l.ms),
      gridMs: Math.round(l.warmGridMs),
      plainMs: Math.round(p.ms),
      peakRssMb: Math.round(l.peakRssMb),
      plainPeakRssMb: Math.round(p.peakRssMb),
      peakRatio: +(l.peakRssMb / p.peakRssMb).toFixed(3),
      // After a second analysis of the same length (and a second plain pass).
      peak2RssMb: Math.round(l.peak2RssMb),
      plainPeak2RssMb: Math.round(p.peak2RssMb),
      peak2Ratio: +(l.peak2RssMb / p.peak2RssMb).toFixed(3),
      keptMb: Math.round(l.keptMb),
      keptEstimateMb: Math.round(l.estimateMb),
      rowMs: l.rowMs,
      tileMs: l.tileMs,
    };
    console.error(`n=${n}: ${JSON.stringify(figure)}`);
    results[`n${n}`] = figure;
  }
  const file = join(root, 'bench', 'results.json');
  const all = JSON.parse(readFileSync(file, 'utf8'));
  // Merged per N: the panel's figures (bench-long-panel.mjs) live beside these.
  all.longContext ??= {};
  if (GQA) all.longContext.gqa ??= {};
  const into = GQA ? all.longContext.gqa : all.longContext;
  for (const [key, figure] of Object.entries(results)) into[key] = { ...into[key], ...(figure as object) };
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
