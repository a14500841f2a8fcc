// Long inputs (issue 17): at N = 1,024, where full maps still fit, a long analysis — which keeps only block-max
// overviews, received sums and what exact rows are recomputed from — must give exactly what a full analysis gives:
// every row, every tile, every overview cell, columns, received sums, and the CLI's --row / --overview. Layer 0's
// exact rows are also checked against a plain-TypeScript computation from the fixture's weights.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalysisReply } from '../../src/protocol/messages';
import { localRows, localTile } from '../../src/protocol/local-rows';
import { Engine } from '../../src/worker/engine';
import { longSource } from '../long-text';
import { FIXTURES } from './fixtures';
import { readWeights } from './onnx-weights';
import { type LlamaRefOptions, referenceLlamaLayer0 } from './reference-llama';

const N = 1024;
/** A source-file-like text past N tokens. */
const TEXT = longSource(120);

/**
 * Plain ops, a sliding window (the mask decides which keys are zero) and softcapped scores (Tanh on the path), each
 * with the options of its plain-TypeScript reference (reference-llama.ts).
 */
/**
 * How close the engine's exact rows must be to the full analysis's maps: 1e-6 when onnxruntime recomputes them with
 * the model's own ops; 2e-6 for GroupQueryAttention, whose rows are computed here in float64 from its queries and
 * keys (long-fused.ts) while the op's maps carry its float32 kernel's rounding (measured: 1.3e-6 at most).
 */
const TOLERANCE = (folder: string) => (folder.includes('-gqa') ? 2e-6 : 1e-6);

const LAYOUTS: { folder: string; ref: Partial<LlamaRefOptions> | null }[] = [
  { folder: 'llama-tiny', ref: {} },
  { folder: 'mistral-tiny-swa', ref: { slidingWindow: 4 } },
  { folder: 'gemma2-tiny-softcap', ref: { softcap: 2, gemmaNorm: true } },
  // onnxruntime-genai's layout: one GroupQueryAttention per layer (fused rotary), with a sliding window, and with
  // packed QKV (null: its packed weights are not what the plain-TypeScript reference reads).
  { folder: 'llama-tiny-gqa', ref: {} },
  { folder: 'mistral-tiny-swa-gqa', ref: { slidingWindow: 4 } },
  { folder: 'llama-tiny-gqa-packed', ref: null },
];

const f32 = (b: ArrayBuffer) => new Float32Array(b);

function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w;
}

describe('long inputs: exact wherever you look (N = 1,024 against a full analysis)', function () {
  this.timeout(300_000);
  const engine = new Engine();
  after(() => engine.dispose());

  for (const { folder, ref } of LAYOUTS) {
    describe(folder, () => {
      const model = join(FIXTURES, folder);
      const tol = TOLERANCE(folder);
      const base = { model, dtype: 'fp32' as const, text: TEXT, allowRemote: false, maxTokens: N };
      let full: AnalysisReply;
      let long: AnalysisReply;
      const maps = new Map<string, Float32Array>();
      const map = async (layer: number, head: number) => {
        const key = `${layer}:${head}`;
        if (!maps.has(key))
          maps.set(key, f32((await engine.slice({ analysisId: full.analysisId, layer, head })).buffer));
        return maps.get(key)!;
      };

      before(async () => {
        full = await engine.analyze({ ...base, mode: 'full' });
        long = await engine.analyze({ ...base, mode: 'long' });
        maps.clear();
      });

      it('is a long analysis of the same N tokens, keeping far less than the full maps', () => {
        assert.equal(full.n, N);
        assert.equal(long.n, N);
        assert.equal(full.long, undefined);
        assert.ok(long.long, 'the reply says how the analysis is kept');
        assert.equal(long.long.size, Math.ceil(N / long.long.block));
        assert.ok(long.long.keptBytes < long.long.fullBytes / 2, `${long.long.keptBytes} vs ${long.long.fullBytes}`);
        // Plain attention is computed in bands of query rows (long-chunks.ts), so every check below covers them;
        // a fused op cannot be banded.
        const layers = (engine as unknown as { longRunner: { surgery: { layers: { banded?: boolean }[] } } }).longRunner
          .surgery.layers;
        assert.ok(
          layers.every((l) => Boolean(l.banded) === !folder.includes('-gqa')),
          layers.map((l) => l.banded).join(),
        );
      });

      it('every exact row of every head equals the full map (≤ 1e-6; GroupQueryAttention 2e-6)', async () => {
        for (let layer = 0; layer < long.model.layers; layer++) {
          const heads = long.model.heads[layer];
          for (let q = 0; q < N; q++) {
            const r = f32(
              (await engine.rows({ analysisId: long.analysisId, layer, index: q, direction: 'row' })).buffer,
            );
            for (let h = 0; h < heads; h++) {
              const m = await map(layer, h);
              const w = worst(r.subarray(h * N, (h + 1) * N), m.subarray(q * N, (q + 1) * N));
              assert.ok(w <= tol, `layer ${layer} head ${h} row ${q}: ${w}`);
            }
          }
        }
      });

      it('every 256 × 256 tile, and the clipped ones at the edge, equal the full map (≤ 1e-6; GroupQueryAttention 2e-6)', async () => {
        const layer = long.model.layers - 1;
        for (let h = 0; h < long.model.heads[layer]; h++) {
          const m = await map(layer, h);
          for (const [row, col, size] of [
            ...[0, 256, 512, 768].flatMap((r) => [0, 256, 512, 768].map((c) => [r, c, 256])),
            [900, 1000, 256],
          ]) {
            const t = await engine.tile({ analysisId: long.analysisId, layer, head: h, row, col, size });
            assert.equal(t.rows, Math.min(size, N - row));
            assert.equal(t.cols, Math.min(size, N - col));
            const data = f32(t.buffer);
            for (let i = 0; i < t.rows; i++) {
              const w = worst(
                data.subarray(i * t.cols, (i + 1) * t.cols),
                m.subarray((row + i) * N + col, (row + i) * N + col + t.cols),
              );
              assert.ok(w <= tol, `tile (${row}, ${col}) row ${i}: ${w}`);
            }
          }
        }
      });

      it('every overview cell is the block maximum of the full map (≤ 1e-6; at other block sides, from rows, GroupQueryAttention 2e-6), also pooled', async () => {
        const block = long.long!.block;
        for (let layer = 0; layer < long.model.layers; layer++)
          for (let h = 0; h < long.model.heads[layer]; h++) {
            const m = await map(layer, h);
            for (const b of [block, block * 4, 7]) {
              const o = await engine.overview({ analysisId: long.analysisId, layer, head: h, block: b });
              const size = Math.ceil(N / b);
              assert.equal(o.size, size);
              const expected = new Float32Array(size * size);
              for (let i = 0; i < N; i++)
                for (let j = 0; j < N; j++) {
                  const at = Math.floor(i / b) * size + Math.floor(j / b);
                  expected[at] = Math.max(expected[at], m[i * N + j]);
                }
              const w = worst(f32(o.buffer), expected);
              assert.ok(w <= tol, `layer ${layer} head ${h} block ${b}: ${w}`);
            }
          }
      });

      it('received sums are the full map’s column sums, and columns are exact', async () => {
        const layer = 0;
        for (let h = 0; h < long.model.heads[layer]; h++) {
          const m = await map(layer, h);
          const sums = new Float64Array(N);
          for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) sums[j] += m[i * N + j];
          const r = f32((await engine.received({ analysisId: long.analysisId, layer, head: h })).buffer);
          for (let j = 0; j < N; j++)
            assert.ok(Math.abs(r[j] - sums[j]) <= 1e-5 * Math.max(1, sums[j]), `key ${j}: ${r[j]} vs ${sums[j]}`);
        }
        for (const index of [0, 1, 517, N - 1]) {
          const c = f32((await engine.rows({ analysisId: long.analysisId, layer, index, direction: 'column' })).buffer);
          const full0 = f32(
            (await engine.rows({ analysisId: full.analysisId, layer, index, direction: 'column' })).buffer,
          );
          assert.ok(worst(c, full0) <= tol, `column ${index}`);
        }
      });

      // 1e-4, not the 1e-5 of short texts: the graph computes RoPE angles p·θ in float32, and at positions near 1,000
      // an angle carries ~1e-4 rad of rounding (float64 in the reference). Measured: 4.5e-5 at most.
      // Packed QKV has no reference (see LAYOUTS); its rows are checked against the op's own maps above and below.
      if (ref)
        it("layer 0's exact rows — the engine's and the panel's — equal the model computed in plain TypeScript from its weights (≤ 1e-4)", async () => {
          const want = referenceLlamaLayer0(
            readWeights(join(model, 'onnx', 'model.onnx')),
            long.tokens.map((t) => t.id),
            { heads: 4, kvHeads: 2, headDim: 16, ...ref },
          );
          const o = await engine.layerOperands({ analysisId: long.analysisId, layer: 0 });
          const op = { ...o, recipe: o.recipe!, q: f32(o.q), k: f32(o.k) };
          let w = 0;
          let panel = 0;
          for (let q = 0; q < N; q++) {
            const r = f32(
              (await engine.rows({ analysisId: long.analysisId, layer: 0, index: q, direction: 'row' })).buffer,
            );
            const mine = localRows(op, q);
            for (let h = 0; h < 4; h++)
              for (let j = 0; j < N; j++) {
                w = Math.max(w, Math.abs(r[h * N + j] - want[h][q][j]));
                panel = Math.max(panel, Math.abs(mine[h * N + j] - want[h][q][j]));
              }
          }
          assert.ok(w <= 1e-4, `engine: max abs error ${w}`);
          assert.ok(panel <= 1e-4, `panel: max abs error ${panel}`);
        });

      it("the panel's rows, computed from a layer's operands, equal the full map in every row and head (≤ 1e-5)", async () => {
        for (const layer of [0, long.model.layers - 1]) {
          const o = await engine.layerOperands({ analysisId: long.analysisId, layer });
          assert.equal(o.unavailable, undefined);
          assert.ok(o.checked && o.checked.worst <= 1e-5, 'the engine checked its sample rows');
          // Grouped-query keys go once per group; the recipe is the layout's own (window, softcap).
          assert.equal(o.keyHeads, long.model.kvHeads[layer]);
          assert.equal(o.recipe?.causal, true);
          assert.equal(o.recipe?.window, ref?.slidingWindow ?? 0);
          assert.equal(
            o.recipe?.steps.some((st) => st.op === 'tanh'),
            !!ref?.softcap,
          );
          const op = { ...o, recipe: o.recipe!, q: f32(o.q), k: f32(o.k) };
          let w = 0;
          for (let h = 0; h < o.heads; h++) {
            const full = await map(layer, h);
            for (let q = 0; q < N; q++) {
              const mine = localRows(op, q).subarray(h * N, (h + 1) * N);
              w = Math.max(w, worst(mine, full.subarray(q * N, (q + 1) * N)));
            }
          }
          assert.ok(w <= 1e-5, `layer ${layer}: max abs difference ${w}`);
          // Tiles (rows computed four at a time), one inside and one clipped at the corner.
          for (const [row, col] of [
            [509, 250],
            [N - 100, N - 60],
          ]) {
            const t = localTile(op, 1, row, col, 256);
            const full = await map(layer, 1);
            for (let i = 0; i < t.rows; i++)
              w = Math.max(
                w,
                worst(
                  t.data.subarray(i * t.cols, (i + 1) * t.cols),
                  full.subarray((row + i) * N + col, (row + i) * N + col + t.cols),
                ),
              );
          }
          assert.ok(w <= 1e-5, `layer ${layer} tiles: max abs difference ${w}`);
        }
      });

      it('a wrong row would be caught: rows of different queries differ', async () => {
        const a = f32(
          (await engine.rows({ analysisId: long.analysisId, layer: 0, index: 600, direction: 'row' })).buffer,
        );
        const b = f32(
          (await engine.rows({ analysisId: long.analysisId, layer: 0, index: 601, direction: 'row' })).buffer,
        );
        assert.ok(worst(a, b) > 1e-3);
      });
    });
  }

  it('a long analysis refuses full slices with what it offers instead; a full one refuses tiles', async () => {
    const long = await engine.analyze({
      model: join(FIXTURES, 'llama-tiny'),
      dtype: 'fp32',
      text: TEXT,
      allowRemote: false,
      maxTokens: 300,
      mode: 'long',
    });
    await assert.rejects(engine.slice({ analysisId: long.analysisId, layer: 0, head: 0 }), /keeps no full maps.*--row/);
    const full = await engine.analyze({
      model: join(FIXTURES, 'llama-tiny'),
      dtype: 'fp32',
      text: 'a b c',
      allowRemote: false,
    });
    assert.equal(full.long, undefined, 'short texts keep full maps');
    await assert.rejects(
      engine.tile({ analysisId: full.analysisId, layer: 0, head: 0, row: 0, col: 0, size: 2 }),
      /keeps full maps/,
    );
  });

  it('holds the model once: its own session goes while a long analysis runs, and comes back unchanged', async () => {
    const base = { model: join(FIXTURES, 'llama-tiny'), dtype: 'fp32' as const, allowRemote: false };
    const held = () => (engine as unknown as { model: { live?: unknown } }).model.live !== undefined;
    const before = await engine.analyze({ ...base, text: 'the animal did not cross the street' });
    const mapBefore = f32((await engine.slice({ analysisId: before.analysisId, layer: 1, head: 1 })).buffer);
    assert.ok(held(), 'a short analysis runs on the model session');
    await engine.analyze({ ...base, text: TEXT, maxTokens: 300, mode: 'long' });
    assert.ok(!held(), 'the long graph carries the weights; the model session is released meanwhile');
    const after = await engine.analyze({ ...base, text: 'the animal did not cross the street' });
    assert.ok(held(), 'a short analysis brings it back');
    const mapAfter = f32((await engine.slice({ analysisId: after.analysisId, layer: 1, head: 1 })).buffer);
    assert.ok(worst(mapBefore, mapAfter) === 0, 'the same maps as before the long analysis');
    await engine.analyze({ ...base, text: TEXT, maxTokens: 300, mode: 'long' });
    const written = await engine.generate({ ...base, text: 'the animal', maxNewTokens: 3 });
    assert.ok(
      written.generated.length > 0 && written.n > written.promptTokens,
      'generation after a long analysis writes',
    );
  });

  it('a new long pass stops the previous one’s rows-graph warm-up after the layer it is on', async () => {
    const base = { model: join(FIXTURES, 'llama-tiny'), dtype: 'fp32' as const, allowRemote: false };
    const a = await engine.analyze({ ...base, text: TEXT, maxTokens: 300, mode: 'long' });
    type Runner = {
      warming: Promise<void>;
      warm(pass: unknown): Promise<void>;
      run(ids: number[], block: number): Promise<unknown>;
      rows(pass: unknown, layer: number, from: number, to: number): Promise<Float32Array>;
    };
    const state = engine as unknown as { longRunner: Runner; analyses: Map<number, { pass: unknown }> };
    const runner = state.longRunner;
    await runner.warming;
    const pass = state.analyses.get(a.analysisId)?.pass;
    assert.ok(pass);
    const layers: number[] = [];
    const rows = runner.rows.bind(runner);
    runner.rows = (p, layer, from, to) => {
      if (p === pass) layers.push(layer);
      return rows(p, layer, from, to);
    };
    try {
      // Unhindered, the warm-up visits every layer.
      await runner.warm(pass);
      assert.deepEqual(layers, [...Array(a.model.layers).keys()]);
      layers.length = 0;
      // Started, then a new pass: it stops after the layer under way.
      const warm = runner.warm(pass);
      const next = runner.run(
        a.tokens.map((t) => t.id),
        a.long!.block,
      );
      await warm;
      assert.deepEqual(layers, [0]);
      await next;
    } finally {
      runner.rows = rows;
    }
  });

  it('after a pass with large maps (the long session released) the model session comes back by itself', async () => {
    const model = join(FIXTURES, 'llama-tiny-long');
    const state = engine as unknown as {
      model: { live?: unknown };
      longRunner: { warming: Promise<void>; holdsSession: boolean };
    };
    await engine.analyze({
      model,
      dtype: 'fp32',
      allowRemote: false,
      text: longSource(370),
      maxTokens: 8192,
      mode: 'long',
    });
    assert.equal(state.model.live, undefined, 'released while the long graph ran');
    await state.longRunner.warming;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(
      state.longRunner.holdsSession,
      false,
      '4 heads × 8,192² floats per layer, a quarter at a time (banded): the long session went',
    );
    // Resumed in the background after the rows graphs' warm-up.
    for (let i = 0; i < 100 && state.model.live === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    assert.notEqual(state.model.live, undefined);
  });

  it('auto goes long above 1,024 tokens, and the budget limits what is kept', async () => {
    const params = {
      model: join(FIXTURES, 'llama-tiny'),
      dtype: 'fp32' as const,
      text: TEXT,
      allowRemote: false,
      maxTokens: 1500,
    };
    const r = await engine.analyze(params);
    assert.equal(r.n, 1500);
    assert.ok(r.long);
    await assert.rejects(
      engine.analyze({ ...params, maxAttentionBytes: 1e6 }),
      (e: { code: string; message: string }) =>
        e.code === 'over-budget' && /long analysis of 1500 tokens keeps about/.test(e.message),
    );
  });

  // Mistral's sliding window, GPT-2's causal Where and padding mask, and BERT's encoder (padding mask only): each
  // banded, with the last band ending inside a block.
  for (const folder of ['mistral-tiny-swa', 'gpt2-tiny-long', 'bert-tiny-long'])
    it(`${folder}: bands of query rows that end inside a block (N = 1,001) give every overview cell and received sum of the full maps`, async () => {
      const base = {
        model: join(FIXTURES, folder),
        dtype: 'fp32' as const,
        text: TEXT,
        allowRemote: false,
        maxTokens: 1001,
      };
      const full = await engine.analyze({ ...base, mode: 'full' });
      const long = await engine.analyze({ ...base, mode: 'long' });
      assert.equal(long.n, 1001);
      const layers = (engine as unknown as { longRunner: { surgery: { layers: { banded?: boolean }[] } } }).longRunner
        .surgery.layers;
      assert.ok(
        layers.every((l) => l.banded),
        'every layer is banded',
      );
      const block = long.long!.block;
      const size = Math.ceil(1001 / block);
      for (let layer = 0; layer < long.model.layers; layer++)
        for (let head = 0; head < long.model.heads[layer]; head++) {
          const map = f32((await engine.slice({ analysisId: full.analysisId, layer, head })).buffer);
          const want = new Float32Array(size * size);
          const sums = new Float64Array(1001);
          for (let q = 0; q < 1001; q++)
            for (let k = 0; k < 1001; k++) {
              const v = map[q * 1001 + k];
              const at = Math.floor(q / block) * size + Math.floor(k / block);
              if (v > want[at]) want[at] = v;
              sums[k] += v;
            }
          const ov = f32((await engine.overview({ analysisId: long.analysisId, layer, head })).buffer);
          assert.ok(worst(ov, want) <= 1e-6, `overview ${layer}:${head}`);
          const rec = f32((await engine.received({ analysisId: long.analysisId, layer, head })).buffer);
          for (let k = 0; k < 1001; k++)
            assert.ok(Math.abs(rec[k] - sums[k]) <= 1e-5 * Math.max(1, sums[k]), `received ${layer}:${head}:${k}`);
          const row = await engine.rows({ analysisId: long.analysisId, layer, index: 700, direction: 'row' });
          assert.ok(
            worst(f32(row.buffer).subarray(head * 1001, (head + 1) * 1001), map.subarray(700 * 1001, 701 * 1001)) <=
              1e-6,
            `row 700 of ${layer}:${head}`,
          );
        }
    });

  describe("a long analysis's first overview comes from the graph cut after the layer on screen; the rest when read", () => {
    for (const folder of ['llama-tiny', 'llama-tiny-gqa']) {
      it(`${folder}: the cut's layer equals a whole pass's; the grid and other layers come from the whole pass`, async () => {
        const tol = TOLERANCE(folder);
        const base = { model: join(FIXTURES, folder), dtype: 'fp32' as const, text: TEXT, allowRemote: false };
        const whole = await engine.analyze({ ...base, maxTokens: N, mode: 'long' });
        assert.equal(engine.lastLongFirstCut, false, 'no first view asked: the whole pass');
        const first = await engine.analyze({ ...base, maxTokens: N, mode: 'long', firstView: { layer: 0, head: 1 } });
        assert.equal(engine.lastLongFirstCut, true, 'layer 0 of 2: the cut graph');
        const store = (engine as unknown as { analyses: Map<number, { holds(l?: number): boolean }> }).analyses.get(
          first.analysisId,
        )!;
        assert.ok(store.holds(0) && !store.holds(1) && !store.holds(), 'only the layer on screen is held');
        const shown = first.first as { overview: { buffer: ArrayBuffer }; received: { buffer: ArrayBuffer } };
        const of = (r: AnalysisReply, layer: number, head: number) =>
          engine.overview({ analysisId: r.analysisId, layer, head });
        assert.ok(worst(f32(shown.overview.buffer), f32((await of(whole, 0, 1)).buffer)) <= 1e-6, 'first overview');
        const received = await engine.received({ analysisId: whole.analysisId, layer: 0, head: 1 });
        assert.ok(worst(f32(shown.received.buffer), f32(received.buffer)) <= 1e-5, 'first received sums');
        // Exact rows of the layer on screen, from what the cut kept, without the whole pass.
        for (const index of [0, 333, N - 1]) {
          const a = await engine.rows({ analysisId: first.analysisId, layer: 0, index, direction: 'row' });
          const b = await engine.rows({ analysisId: whole.analysisId, layer: 0, index, direction: 'row' });
          assert.ok(worst(f32(a.buffer), f32(b.buffer)) <= tol, `row ${index}`);
        }
        const ops = await engine.layerOperands({ analysisId: first.analysisId, layer: 0 });
        assert.ok(!ops.unavailable && ops.checked, 'the panel gets checked operands of the layer on screen');
        assert.ok(!store.holds(), 'rows of the layer on screen do not run the rest');
        // The grid runs the whole pass; every layer is then the whole pass's.
        const t1 = await engine.thumbnails({ analysisId: first.analysisId, size: 16 });
        const t2 = await engine.thumbnails({ analysisId: whole.analysisId, size: 16 });
        assert.ok(store.holds(), 'the grid brought every layer');
        const bytes = (r: AnalysisReply) =>
          (engine as unknown as { analyses: Map<number, { bytes: number }> }).analyses.get(r.analysisId)!.bytes;
        assert.equal(bytes(first), bytes(whole), 'it then keeps what a whole pass keeps (a shared mask once)');
        assert.ok(worst(f32(t1.buffer), f32(t2.buffer)) <= 1e-6, 'the grid');
        assert.ok(worst(f32((await of(first, 1, 3)).buffer), f32((await of(whole, 1, 3)).buffer)) <= 1e-6, 'layer 1');
        const r1 = await engine.rows({ analysisId: first.analysisId, layer: 1, index: 700, direction: 'row' });
        const r2 = await engine.rows({ analysisId: whole.analysisId, layer: 1, index: 700, direction: 'row' });
        assert.ok(worst(f32(r1.buffer), f32(r2.buffer)) <= tol, 'a row of layer 1');
      });
    }

    it('a layer in the second half of the model runs the whole pass at once', async () => {
      const base = { model: join(FIXTURES, 'llama-tiny'), dtype: 'fp32' as const, text: TEXT, allowRemote: false };
      const r = await engine.analyze({ ...base, maxTokens: N, mode: 'long', firstView: { layer: 1, head: 0 } });
      assert.equal(engine.lastLongFirstCut, false);
      const store = (engine as unknown as { analyses: Map<number, { holds(l?: number): boolean }> }).analyses.get(
        r.analysisId,
      )!;
      assert.ok(store.holds(), 'every layer is held');
    });
  });

  describe('command line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'al-long-'));
    const file = join(dir, 'lesson.txt');
    writeFileSync(file, TEXT);
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(__dirname, '..', '..', 'dist', 'cli.js'), 'analyze', ...args], {
        encoding: 'utf8',
      });
    const model = join(FIXTURES, 'llama-tiny');

    it('--row Q gives one exact row, --overview B the block maximum, equal in long and full mode', async () => {
      const args = [
        '--model',
        model,
        '--file',
        file,
        '--max-tokens',
        String(N),
        '--layer',
        '1',
        '--head',
        '2',
        '--offline',
      ];
      const long = spawnSync(
        process.execPath,
        [
          join(__dirname, '..', '..', 'dist', 'cli.js'),
          'analyze',
          ...args,
          '--mode',
          'long',
          '--row',
          '700',
          '--overview',
          '64',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(long.status, 0, long.stderr);
      const out = JSON.parse(long.stdout);
      assert.deepEqual(Object.keys(out.attention), ['layer', 'head', 'row', 'weights']);
      assert.deepEqual([out.attention.layer, out.attention.head, out.attention.row], [1, 2, 700]);
      assert.equal(out.attention.weights.length, N);
      assert.deepEqual(Object.keys(out.overview), ['layer', 'head', 'block', 'matrix']);
      assert.equal(out.overview.matrix.length, N / 64);
      assert.equal(out.overview.matrix[0].length, N / 64);
      assert.ok(out.long, 'says it was a long analysis');
      const fullRun = cli(...args, '--mode', 'full', '--row', '700', '--overview', '64');
      assert.equal(fullRun.status, 0, fullRun.stderr);
      const full = JSON.parse(fullRun.stdout);
      assert.equal(full.long, undefined);
      assert.ok(worst(out.attention.weights, full.attention.weights) <= 1e-6);
      assert.ok(worst(out.overview.matrix.flat(), full.overview.matrix.flat()) <= 1e-6);
      const sum = out.attention.weights.reduce((a: number, b: number) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, `the row sums to 1 (${sum})`);
    });

    it('refuses --row past the end and --overview 0 with a clear message', () => {
      const r = cli('--model', model, '--text', 'a b c', '--row', '99', '--offline');
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /--row must be below/);
      const o = cli('--model', model, '--text', 'a b c', '--overview', '0', '--offline');
      assert.notEqual(o.status, 0);
      assert.match(o.stderr, /--overview needs a block size/);
    });
  });
});
