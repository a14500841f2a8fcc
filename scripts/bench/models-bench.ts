// `npm run bench:models`: what surgery and modern layouts cost, on fixtures built with `build-fixtures.mjs --bench`.
// - session: creation with surgery ÷ plain creation (bert-base-shaped, fp32 and q8), and the old decode/re-encode
//   surgery for comparison;
// - memory: peak RSS of a plain forward pass at N = 512 against the engine's analysis with every map (fresh
//   processes each);
// - decoder: SmolLM2-135M-shaped Llama graph (30 layers, 9 query / 3 KV heads) fp32 and q4 at N = 512: load time,
//   forward with maps ÷ plain forward, peak RSS of an analysis;
// - fused: the same shape as one GroupQueryAttention per layer: forward with maps ÷ plain forward at N = 512.
// Runs alternate between the two sides so the machine's drift hits both alike. Merges into bench/results.json.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { Engine } from '../../src/worker/engine';
import { exposeAttention, exposeAttentionInFile } from '../../src/worker/graph-surgery';
import { feedsFor } from '../../src/worker/model-runner';
import { stats } from './stats';

const root = join(__dirname, '..', '..');
const models = join(root, 'test', 'fixtures', 'models');
const quiet = { logSeverityLevel: 3 as const, extra: { session: { intra_op: { allow_spinning: '0' } } } };

async function time<T>(f: () => Promise<T> | T): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await f();
  return [performance.now() - t0, r];
}

/** The surgery this release replaced: decode the whole ModelProto, add outputs, encode it again. */
function legacySurgery(bytes: Uint8Array, outputs: string[]): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  for (const name of outputs) model.graph!.output!.push(onnx.ValueInfoProto.create({ name }));
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Session creation as transformers.js does it in Node (onnxruntime reads the file), against the engine's (surgery on
 * the file's structure, weights referenced in place) and the old path (read, decode, re-encode, create from bytes).
 */
async function sessionRatio(file: string) {
  const plain: number[] = [];
  const exposed: number[] = [];
  const legacy: number[] = [];
  const inFolder = {
    ...quiet,
    extra: { session: { ...quiet.extra.session, model_external_initializers_file_folder_path: dirname(file) } },
  };
  for (let r = 0; r < 5; r++) {
    const [pt, p] = await time(() => ort.InferenceSession.create(file, quiet));
    await p.release();
    const [et, e] = await time(() => ort.InferenceSession.create(exposeAttentionInFile(file, 'bench').bytes, inFolder));
    await e.release();
    const [lt, l] = await time(() => {
      const bytes = readFileSync(file);
      return ort.InferenceSession.create(legacySurgery(bytes, exposeAttention(bytes, 'bench').attentionOutputs), quiet);
    });
    await l.release();
    plain.push(pt);
    exposed.push(et);
    legacy.push(lt);
  }
  const p = stats(plain);
  const e = stats(exposed);
  const l = stats(legacy);
  return {
    ratio: +(e.median / p.median).toFixed(3),
    plainMs: p.median,
    exposedMs: e.median,
    legacyRatio: +(l.median / p.median).toFixed(3),
    legacyMs: l.median,
    runs: { plain: p, exposed: e, legacy: l },
  };
}

/** Forward with every map ÷ plain forward, N = 512, on one graph; alternating runs. */
async function overhead(file: string, n: number, runs = 5) {
  const bytes = readFileSync(file);
  const surgery = exposeAttention(bytes, 'bench');
  const plain = await ort.InferenceSession.create(bytes, quiet);
  const exposed = await ort.InferenceSession.create(surgery.bytes, quiet);
  const ids = Array.from({ length: n }, (_, i) => 1000 + ((i * 7919) % 40000));
  const own = [plain.outputNames[0]];
  const fp = feedsFor(plain, ids);
  const fe = feedsFor(exposed, ids);
  await plain.run(fp, own);
  await exposed.run(fe, surgery.attentionOutputs);
  const p: number[] = [];
  const e: number[] = [];
  for (let r = 0; r < runs; r++) {
    p.push((await time(() => plain.run(fp, own)))[0]);
    e.push((await time(() => exposed.run(fe, surgery.attentionOutputs)))[0]);
  }
  await plain.release();
  await exposed.release();
  const sp = stats(p);
  const se = stats(e);
  return { overhead: +(se.median / sp.median).toFixed(3), plainMs: sp.median, withMapsMs: se.median };
}

/** Runs this file in a fresh process in a probe mode and returns its JSON line. */
function probe(...args: string[]) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', __filename, '--probe', ...args], {
    encoding: 'utf8',
    cwd: root,
    maxBuffer: 16 * 2 ** 20,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

/** In a fresh process: peak RSS of a plain forward pass, or of the engine's analysis, at N tokens. */
async function probeMain(mode: string, folder: string, dtype: string, n: number) {
  if (mode === 'plain') {
    const file = join(folder, 'onnx', dtype === 'q4' ? 'model_q4.onnx' : 'model.onnx');
    // From the path, as transformers.js creates sessions in Node.
    const session = await ort.InferenceSession.create(file, quiet);
    const ids = Array.from({ length: n }, (_, i) => 1000 + ((i * 7919) % 28000));
    await session.run(feedsFor(session, ids), [session.outputNames[0]]);
    console.log(JSON.stringify({ peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
    return;
  }
  const engine = new Engine();
  const [loadMs] = await time(() => engine.ensureModel({ model: folder, dtype: dtype as 'fp32', allowRemote: false }));
  const text = Array.from({ length: n * 2 }, (_, i) => ['the', 'animal', 'crossed', 'street'][i % 4]).join(' ');
  const s = await engine.analyze({ model: folder, dtype: dtype as 'fp32', text, allowRemote: false, maxTokens: n });
  console.log(
    JSON.stringify({
      n: s.n,
      loadMs: Math.round(loadMs),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

/**
 * Tokens per second generating 32 tokens after a 128-token prompt: the engine (every step's attention kept) ÷
 * transformers.js's own greedy generate on the same graph, alternating runs.
 */
async function generationRatio(folder: string, dtype: 'fp32' | 'q4', promptLength = 128) {
  const { AutoModelForCausalLM, Tensor } = await import('@huggingface/transformers');
  const prompt = Array.from({ length: promptLength }, (_, i) => 1000 + ((i * 7919) % 40000));
  const lm = await AutoModelForCausalLM.from_pretrained(folder, { dtype, local_files_only: true } as never);
  const engine = new Engine();
  const model = await engine.ensureModel({ model: folder, dtype, allowRemote: false });
  const { generateWithAttention } = await import('../../src/worker/generation');
  const input_ids = new Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]);
  const attention_mask = new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
  const plainRun = () =>
    lm.generate({ input_ids, attention_mask, max_new_tokens: 32, min_new_tokens: 32, do_sample: false } as never);
  // Attention only (what the plain generate computes, plus every step's rows), and with the prompt's per-position
  // next-token lists too (one LM-head pass over the whole prompt).
  const oursRun = () => generateWithAttention(model, prompt, { maxNewTokens: 32, promptExpectations: false });
  const fullRun = () => generateWithAttention(model, prompt, { maxNewTokens: 32 });
  await plainRun();
  await oursRun();
  await fullRun();
  const plain: number[] = [];
  const ours: number[] = [];
  const full: number[] = [];
  for (let r = 0; r < 3; r++) {
    plain.push((await time(plainRun))[0]);
    ours.push((await time(oursRun))[0]);
    full.push((await time(fullRun))[0]);
  }
  await lm.dispose();
  await engine.dispose();
  const p = stats(plain).median;
  const o = stats(ours).median;
  // Tokens per second with attention ÷ plain: the inverse ratio of times for the same 32 tokens.
  const f = stats(full).median;
  return {
    ratio: +(p / o).toFixed(3),
    plainMs: p,
    withAttentionMs: o,
    withPromptExpectationsRatio: +(p / f).toFixed(3),
    withPromptExpectationsMs: f,
  };
}

(async () => {
  if (process.argv.includes('--generation')) {
    const generation = {
      // The GPT-2 fixture has 128 positions: a 64-token prompt there.
      gpt2: await generationRatio(join(models, 'gpt2-tiny-past'), 'fp32', 64),
      llamaFp32: await generationRatio(join(models, 'smollm2-shaped'), 'fp32'),
      llamaQ4: await generationRatio(join(models, 'smollm2-shaped'), 'q4'),
    };
    console.error(`generation: ${JSON.stringify(generation)}`);
    const file = join(root, 'bench', 'results.json');
    const results = JSON.parse(readFileSync(file, 'utf8'));
    results.generation = generation;
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  const at = process.argv.indexOf('--probe');
  if (at > 0) {
    const [mode, folder, dtype, n] = process.argv.slice(at + 1);
    await probeMain(mode, folder, dtype, Number(n));
    return;
  }
  const bert = join(models, 'bert-base-shaped');
  const smol = join(models, 'smollm2-shaped');
  const smolGqa = join(models, 'smollm2-shaped-gqa');
  const log = (label: string, value: unknown) => console.error(`${label}: ${JSON.stringify(value)}`);

  const session = {
    fp32: await sessionRatio(join(bert, 'onnx', 'model.onnx')),
    q8: await sessionRatio(join(bert, 'onnx', 'model_quantized.onnx')),
  };
  log('session', { fp32: session.fp32.ratio, q8: session.q8.ratio });
  const memory = {
    plainPeakRssMb: probe('plain', bert, 'fp32', '512').peakRssMb,
    peakRssMb: probe('engine', bert, 'fp32', '512').peakRssMb,
  };
  log('memory', memory);
  const decoder: Record<string, unknown> = {};
  for (const dtype of ['fp32', 'q4']) {
    const file = join(smol, 'onnx', dtype === 'q4' ? 'model_q4.onnx' : 'model.onnx');
    const o = await overhead(file, 512);
    const e = probe('engine', smol, dtype, '512');
    decoder[dtype] = {
      loadMs: e.loadMs,
      overhead: o.overhead,
      peakRssMb: e.peakRssMb,
      plainMs: o.plainMs,
      withMapsMs: o.withMapsMs,
      n: e.n,
    };
    log(`decoder.${dtype}`, decoder[dtype]);
  }
  // How fast each dtype runs on onnxruntime-node's CPU provider: a plain forward pass, N = 128, same graph shape.
  const dtypeSpeed: Record<string, number> = {};
  for (const [dtype, name] of Object.entries({
    fp32: 'model.onnx',
    fp16: 'model_fp16.onnx',
    q4: 'model_q4.onnx',
    q4f16: 'model_q4f16.onnx',
  })) {
    const session = await ort.InferenceSession.create(join(smol, 'onnx', name), quiet);
    const ids = Array.from({ length: 128 }, (_, i) => 1000 + ((i * 7919) % 40000));
    const feeds = feedsFor(session, ids);
    await session.run(feeds, ['logits']);
    const t: number[] = [];
    for (let r = 0; r < 5; r++) t.push((await time(() => session.run(feeds, ['logits'])))[0]);
    dtypeSpeed[dtype] = stats(t).median;
    await session.release();
  }
  log('dtypeSpeed (plain forward ms, N = 128)', dtypeSpeed);
  const fusedO = await overhead(join(smolGqa, 'onnx', 'model.onnx'), 512);
  const fused = { n512: fusedO };
  log('fused', fused);

  const file = join(root, 'bench', 'results.json');
  const results = JSON.parse(readFileSync(file, 'utf8'));
  results.session = {
    ...results.session,
    plainMs: session.fp32.plainMs,
    exposedMs: session.fp32.exposedMs,
    ratio: session.fp32.ratio,
    legacyRatio: session.fp32.legacyRatio,
    q8: {
      plainMs: session.q8.plainMs,
      exposedMs: session.q8.exposedMs,
      ratio: session.q8.ratio,
      legacyRatio: session.q8.legacyRatio,
    },
  };
  results.memory = { ...results.memory, ...memory, ratio: +(memory.peakRssMb / memory.plainPeakRssMb).toFixed(3) };
  results.decoder = decoder;
  results.fused = fused;
  results.dtypeForwardMsN128 = dtypeSpeed;
  results.details = { ...results.details, sessionRuns: session };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify({ session, memory, decoder, fused, dtypeSpeed })}\n`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
