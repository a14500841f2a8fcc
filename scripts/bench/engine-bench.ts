// The engine half of `npm run bench` (run with tsx): extraction overhead (all maps, and a first view's one layer),
// session creation with and without
// surgery, end-to-end through the real worker thread, and worker memory at N = 512, on the bert-base-shaped
// fixture. Prints JSON on stdout for scripts/bench.mjs.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { EngineClient } from '../../src/host/engine-client';
import { exposeAttention, prefixGraphInFile } from '../../src/worker/graph-surgery';
import { feedsFor } from '../../src/worker/model-runner';
import { stats } from './stats';

const root = join(__dirname, '..', '..');
const MODEL = join(root, 'test', 'fixtures', 'models', 'bert-base-shaped');
const FILES = { fp32: 'model.onnx', q8: 'model_quantized.onnx' } as const;
const SIZES = [32, 128, 512];

function ids(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 101 : i === n - 1 ? 102 : 1000 + ((i * 7919) % 28000)));
}

async function time<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await f();
  return [performance.now() - t0, r];
}

async function overheadAndSessions() {
  const overhead: Record<string, Record<string, unknown>> = {};
  const firstView: Record<string, Record<string, unknown>> = {};
  const session: Record<string, Record<string, unknown>> = {};
  const plainForward: Record<string, Record<number, number>> = {};
  for (const dtype of ['fp32', 'q8'] as const) {
    const bytes = readFileSync(join(MODEL, 'onnx', FILES[dtype]));
    const plainTimes: number[] = [];
    const exposedTimes: number[] = [];
    let plain!: ort.InferenceSession;
    let exposed!: ort.InferenceSession;
    let outputs: string[] = [];
    for (let r = 0; r < 3; r++) {
      await plain?.release();
      await exposed?.release();
      const [pt, p] = await time(() => ort.InferenceSession.create(bytes));
      const [et, e] = await time(async () => {
        const s = exposeAttention(bytes, 'bench');
        outputs = s.attentionOutputs;
        return ort.InferenceSession.create(s.bytes);
      });
      plainTimes.push(pt);
      exposedTimes.push(et);
      plain = p;
      exposed = e;
    }
    session[dtype] = {
      plainMs: stats(plainTimes).median,
      exposedMs: stats(exposedTimes).median,
      plain: stats(plainTimes),
      exposed: stats(exposedTimes),
    };
    // A first view of an early layer runs the graph cut after that layer (model-runner.ts runFirstView): layer 0
    // (the panel's default) and layer 5 (the last the engine cuts at on 12 layers). Resident memory each adds.
    const file = join(MODEL, 'onnx', FILES[dtype]);
    const cuts: Record<number, ort.InferenceSession> = {};
    const cutRssMb: Record<string, number> = {};
    for (const layer of [0, 5]) {
      const before = process.memoryUsage().rss;
      cuts[layer] = await ort.InferenceSession.create(
        prefixGraphInFile(file, 'bench', layer) as Uint8Array,
        {
          extra: { session: { model_external_initializers_file_folder_path: join(MODEL, 'onnx') } },
        } as ort.InferenceSession.SessionOptions,
      );
      cutRssMb[`layer${layer}`] = Math.round((process.memoryUsage().rss - before) / 2 ** 20);
    }
    overhead[dtype] = {};
    firstView[dtype] = { cutRssMb };
    plainForward[dtype] = {};
    const own = plain.outputNames[0];
    for (const n of SIZES) {
      const feedsP = feedsFor(plain, ids(n));
      const feedsE = feedsFor(exposed, ids(n));
      const runs = n === 512 ? 7 : 15;
      const p: number[] = [];
      const e: number[] = [];
      // A first view's pass (engine.ts shortStore): one layer's maps only, the first layer or the last.
      const first: number[] = [];
      const last: number[] = [];
      const cut0: number[] = [];
      const cut5: number[] = [];
      const feedsC = (layer: number) => feedsFor(cuts[layer], ids(n));
      const views = n >= 128;
      for (let w = 0; w < 2; w++) {
        await plain.run(feedsP, [own]);
        await exposed.run(feedsE, [own, ...outputs]);
      }
      // Interleaved, so drift in machine load hits both sides alike.
      for (let r = 0; r < runs; r++) {
        p.push((await time(() => plain.run(feedsP, [own])))[0]);
        e.push((await time(() => exposed.run(feedsE, [own, ...outputs])))[0]);
        if (!views) continue;
        first.push((await time(() => exposed.run(feedsE, [outputs[0]])))[0]);
        last.push((await time(() => exposed.run(feedsE, [outputs[outputs.length - 1]])))[0]);
        cut0.push((await time(() => cuts[0].run(feedsC(0))))[0]);
        cut5.push((await time(() => cuts[5].run(feedsC(5))))[0]);
      }
      const sp = stats(p);
      const se = stats(e);
      overhead[dtype][`n${n}`] = +(se.median / sp.median).toFixed(3);
      overhead[dtype][`n${n}Ms`] = { plain: sp, exposed: se };
      if (views) {
        const [sf, sl, c0, c5] = [stats(first), stats(last), stats(cut0), stats(cut5)];
        firstView[dtype][`n${n}`] = {
          // The whole graph, one layer fetched:
          firstLayer: +(sf.median / sp.median).toFixed(3),
          lastLayer: +(sl.median / sp.median).toFixed(3),
          // The graph cut after layer 0 / layer 5 (what the engine runs for those first views):
          cutLayer0: +(c0.median / sp.median).toFixed(3),
          cutLayer5: +(c5.median / sp.median).toFixed(3),
          firstLayerMs: sf,
          lastLayerMs: sl,
          cutLayer0Ms: c0,
          cutLayer5Ms: c5,
        };
      }
      plainForward[dtype][n] = sp.median;
    }
    await plain.release();
    await exposed.release();
    for (const c of Object.values(cuts)) await c.release();
  }
  return { overhead, firstView, session, plainForward };
}

async function endToEnd(plainMs: number) {
  const worker = join(root, 'dist', 'worker.js');
  const text = Array.from(
    { length: 126 },
    (_, i) => ['the', 'animal', 'crossed', 'street', 'because', 'it', 'was', 'tired'][i % 8],
  ).join(' ');
  const firstPaint = async (client: EngineClient) => {
    const [ms, summary] = await time(async () => {
      const s = await client.call('analyze', { model: MODEL, dtype: 'q8', text, allowRemote: false });
      await Promise.all([
        client.call('slice', { analysisId: s.analysisId, layer: 0, head: 0 }),
        client.call('thumbnails', { analysisId: s.analysisId, size: 24 }),
      ]);
      return s;
    });
    return { ms, summary };
  };
  // The engine in a child process (what the extension uses) against the same engine in a worker thread: both warm,
  // 15 alternating runs each, so machine noise falls on both alike.
  const client = new EngineClient(worker, { mode: 'process' });
  const thread = new EngineClient(worker, { mode: 'thread' });
  const cold = await firstPaint(client);
  await firstPaint(thread);
  const warm: number[] = [];
  const warmThread: number[] = [];
  for (let r = 0; r < 15; r++) {
    warm.push((await firstPaint(client)).ms);
    warmThread.push((await firstPaint(thread)).ms);
  }
  await client.dispose();
  await thread.dispose();
  const n = cold.summary.n;
  const t = cold.summary.timings;
  return {
    n,
    warmMs: stats(warm).median,
    warm: stats(warm),
    warmThread: stats(warmThread),
    processOverThread: +(stats(warm).median / stats(warmThread).median).toFixed(3),
    plainForwardMs: plainMs,
    coldMs: +cold.ms.toFixed(1),
    coldBreakdown: {
      loadMs: +t.loadMs.toFixed(1),
      tokenizeMs: +t.tokenizeMs.toFixed(1),
      forwardMs: +t.forwardMs.toFixed(1),
      restMs: +(cold.ms - t.loadMs - t.tokenizeMs - t.forwardMs).toFixed(1),
    },
  };
}

function memory() {
  // A fresh process, so the figures are the worker's own: the engine at N = 512, then its analysis released.
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(__dirname, 'memory-probe.ts'), MODEL],
    { encoding: 'utf8', cwd: root },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

(async () => {
  if (process.argv.includes('--process-vs-thread')) {
    // Only the engine-placement comparison (a quick re-run): warm first paint in a process vs a thread.
    const e2e = await endToEnd(Number.NaN);
    const { processOverThread, warmMs, warmThread } = e2e;
    const figures = {
      processOverThread,
      processMs: warmMs,
      threadMs: warmThread.median,
      process: e2e.warm,
      thread: warmThread,
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    if (process.argv.includes('--write')) {
      // Merged into bench/results.json beside the full run's figures (npm run bench:placement).
      const file = join(root, 'bench', 'results.json');
      const results = JSON.parse(readFileSync(file, 'utf8'));
      results.endToEnd = {
        ...results.endToEnd,
        processOverThread,
        workerProcessMs: warmMs,
        workerThreadMs: warmThread.median,
      };
      results.details = { ...results.details, processOverThread: { process: e2e.warm, thread: warmThread } };
      writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    }
    return;
  }
  const { overhead, firstView, session, plainForward } = await overheadAndSessions();
  // `--overhead`: just the passes (a minute), for a quick look.
  if (process.argv.includes('--overhead')) {
    process.stdout.write(`${JSON.stringify({ overhead, firstView })}\n`);
    return;
  }
  const e2e = await endToEnd(plainForward.q8[128]);
  const result = {
    overhead,
    firstView,
    session,
    endToEnd: { warmRatio: +(e2e.warmMs / plainForward.q8[128]).toFixed(3), ...e2e },
    memory: memory(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
