// Today's decoders as the hub ships them: Llama-family graphs (RoPE, grouped-query attention, RMSNorm, SwiGLU,
// SDPA-style scaling, position_ids, past_key_values, num_logits_to_keep) in Optimum's plain layout and in
// onnxruntime-genai's fused GroupQueryAttention layout; fp16, q4 and q4f16 weights; external data in one file and
// in chunks; a sliding window (Mistral) and softcapping (Gemma 2). Each is checked against an independent
// computation from the fixture's own weights.
import { strict as assert } from 'node:assert';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { Dtype, DtypeChoice } from '../../src/protocol/dtypes';
import { resolveDtype } from '../../src/worker/dtype-choice';
import { loadEstimate } from '../../src/worker/hub';
import { Engine } from '../../src/worker/engine';
import { FIXTURES, SENTENCE } from './fixtures';
import { readWeights } from './onnx-weights';
import { referenceValues } from './reference-attention';
import { type LlamaRefOptions, referenceLlamaLayer0 } from './reference-llama';

interface Case {
  name: string;
  folder: string;
  dtype: DtypeChoice;
  /** The dtype `auto` or the explicit choice must resolve to. */
  resolved: Dtype;
  file: string;
  op: string;
  ref: Partial<LlamaRefOptions>;
  /** Largest |engine − reference| allowed for layer 0. */
  tolerance: number;
  /** Largest |row sum − 1| allowed. */
  rowTolerance: number;
}

const TINY = { heads: 4, kvHeads: 2, headDim: 16 };
// fp16 graphs compute and round in half precision (10-bit mantissa): each probability is within a few 1e-3 of the
// exact value, and a row's sum within 2e-3 of 1. q4 weights are dequantised exactly by the reference, so only
// accumulation order separates them.
const FP16 = { tolerance: 1e-2, rowTolerance: 2e-3 };
const FP32 = { tolerance: 1e-5, rowTolerance: 1e-5 };

const cases: Case[] = [
  {
    name: 'Llama, Optimum layout, fp32 (auto)',
    folder: 'llama-tiny',
    dtype: 'auto',
    resolved: 'fp32',
    file: 'model.onnx',
    op: 'Softmax',
    ref: {},
    ...FP32,
  },
  {
    name: 'Llama, fp16 graph (maps converted from float16)',
    folder: 'llama-tiny',
    dtype: 'fp16',
    resolved: 'fp16',
    file: 'model_fp16.onnx',
    op: 'Softmax',
    ref: {},
    ...FP16,
  },
  {
    name: 'Llama, q4 (MatMulNBits)',
    folder: 'llama-tiny',
    dtype: 'q4',
    resolved: 'q4',
    file: 'model_q4.onnx',
    op: 'Softmax',
    ref: {},
    tolerance: 1e-4,
    rowTolerance: 1e-5,
  },
  {
    name: 'Llama, q4f16',
    folder: 'llama-tiny',
    dtype: 'q4f16',
    resolved: 'q4f16',
    file: 'model_q4f16.onnx',
    op: 'Softmax',
    ref: {},
    ...FP16,
  },
  {
    name: 'Llama, every weight in model.onnx_data',
    folder: 'llama-tiny-external',
    dtype: 'auto',
    resolved: 'fp32',
    file: 'model.onnx',
    op: 'Softmax',
    ref: {},
    ...FP32,
  },
  {
    name: 'Llama, weights in three chunks (model.onnx_data, _1, _2)',
    folder: 'llama-tiny-chunked',
    dtype: 'fp32',
    resolved: 'fp32',
    file: 'model.onnx',
    op: 'Softmax',
    ref: {},
    ...FP32,
  },
  {
    name: 'Llama, GroupQueryAttention with fused rotary (genai layout)',
    folder: 'llama-tiny-gqa',
    dtype: 'auto',
    resolved: 'fp32',
    file: 'model.onnx',
    op: 'GroupQueryAttention',
    ref: {},
    ...FP32,
  },
  {
    name: 'Llama, GroupQueryAttention fp16',
    folder: 'llama-tiny-gqa',
    dtype: 'fp16',
    resolved: 'fp16',
    file: 'model_fp16.onnx',
    op: 'GroupQueryAttention',
    ref: {},
    ...FP16,
  },
  {
    name: 'GroupQueryAttention with packed QKV, do_rotary=0',
    folder: 'llama-tiny-gqa-packed',
    dtype: 'fp32',
    resolved: 'fp32',
    file: 'model.onnx',
    op: 'GroupQueryAttention',
    ref: { rope: false },
    ...FP32,
  },
  {
    name: 'Mistral, sliding window 4 (Optimum layout)',
    folder: 'mistral-tiny-swa',
    dtype: 'fp32',
    resolved: 'fp32',
    file: 'model.onnx',
    op: 'Softmax',
    ref: { slidingWindow: 4 },
    ...FP32,
  },
  {
    name: 'Mistral, sliding window 4 (GroupQueryAttention local_window_size)',
    folder: 'mistral-tiny-swa-gqa',
    dtype: 'fp32',
    resolved: 'fp32',
    file: 'model.onnx',
    op: 'GroupQueryAttention',
    ref: { slidingWindow: 4 },
    ...FP32,
  },
  {
    name: 'Gemma 2, attention-logit softcapping and (1 + w) norms',
    folder: 'gemma2-tiny-softcap',
    dtype: 'fp32',
    resolved: 'fp32',
    file: 'model.onnx',
    op: 'Softmax',
    ref: { softcap: 2, gemmaNorm: true },
    ...FP32,
  },
];

async function layerMaps(engine: Engine, analysisId: number, layer: number, heads: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let h = 0; h < heads; h++)
    out.push(new Float32Array((await engine.slice({ analysisId, layer, head: h })).buffer));
  return out;
}

describe('modern decoders: Llama family, fused GroupQueryAttention, fp16 / q4, external data', function () {
  this.timeout(120_000);
  const engine = new Engine();
  after(() => engine.dispose());

  for (const c of cases) {
    it(`${c.name}: per-query-head maps, causal, rows sum to 1, layer 0 = reference`, async () => {
      const folder = join(FIXTURES, c.folder);
      const s = await engine.analyze({ model: folder, dtype: c.dtype, text: SENTENCE, allowRemote: false });
      assert.equal(s.model.dtype, c.resolved, 'the resolved dtype is reported');
      assert.equal(s.model.kind, 'causal');
      assert.deepEqual(s.model.heads, [4, 4], 'one map per query head');
      assert.deepEqual(s.model.kvHeads, [2, 2], 'two key/value heads per layer');
      assert.deepEqual(s.model.attentionOps, [c.op, c.op]);
      assert.equal(s.model.maxPositions, 2048, "config.json's max_position_embeddings, not the tokenizer's 1024");
      const n = s.n;
      assert.ok(n > 8, 'the sentence is longer than the sliding window');
      for (let l = 0; l < 2; l++) {
        const maps = await layerMaps(engine, s.analysisId, l, 4);
        for (const [h, m] of maps.entries())
          for (let i = 0; i < n; i++) {
            let sum = 0;
            for (let j = 0; j < n; j++) {
              sum += m[i * n + j];
              if (j > i) assert.equal(m[i * n + j], 0, `causal: L${l} H${h} (${i},${j})`);
              if (c.ref.slidingWindow && j <= i - c.ref.slidingWindow)
                assert.equal(m[i * n + j], 0, `outside the window: L${l} H${h} (${i},${j})`);
            }
            assert.ok(Math.abs(sum - 1) <= c.rowTolerance, `row ${i} of L${l} H${h} sums to ${sum}`);
          }
      }
      const ref = referenceLlamaLayer0(
        readWeights(join(folder, 'onnx', c.file)),
        s.tokens.map((t) => t.id),
        { ...TINY, ...c.ref },
      );
      const maps = await layerMaps(engine, s.analysisId, 0, 4);
      let worst = 0;
      for (let h = 0; h < 4; h++)
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(maps[h][i * n + j] - ref[h][i][j]));
      assert.ok(worst <= c.tolerance, `max abs error ${worst} > ${c.tolerance}`);
    });
  }

  it('gives padded keys exactly 0 in the Optimum and the GroupQueryAttention layouts', async () => {
    for (const folder of ['llama-tiny', 'mistral-tiny-swa']) {
      const model = await engine.ensureModel({ model: join(FIXTURES, folder), dtype: 'fp32', allowRemote: false });
      const ids = [464, 5044, 750, 470, 3272, 262, 4675];
      const mask = [1, 0, 1, 1, 0, 1, 1];
      const layers = await model.run(ids, mask);
      const n = ids.length;
      for (const [l, data] of layers.entries())
        for (let h = 0; h < 4; h++)
          for (let i = 0; i < n; i++)
            for (const j of [1, 4]) assert.equal(data[h * n * n + i * n + j], 0, `${folder} L${l} H${h} (${i},${j})`);
    }
  });

  it('auto takes the most faithful file a folder has (fp16 when there is no fp32 file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'al-auto-'));
    cpSync(join(FIXTURES, 'llama-tiny'), dir, { recursive: true });
    rmSync(join(dir, 'onnx', 'model.onnx'));
    assert.equal(await resolveDtype(dir, 'auto'), 'fp16');
    rmSync(join(dir, 'onnx', 'model_fp16.onnx'));
    assert.equal(await resolveDtype(dir, 'auto'), 'q4f16', 'q4f16 before q4');
    // With the fp32 file back but a memory limit it does not fit, auto skips it for the 4-bit file that fits.
    copyFileSync(join(FIXTURES, 'llama-tiny', 'onnx', 'model.onnx'), join(dir, 'onnx', 'model.onnx'));
    const size = (f: string) => statSync(join(dir, 'onnx', f)).size;
    assert.ok(size('model.onnx') > size('model_q4f16.onnx'));
    assert.equal(await resolveDtype(dir, 'auto'), 'fp32');
    assert.equal(await resolveDtype(dir, 'auto', { memoryLimit: loadEstimate(size('model_q4f16.onnx')) + 1 }), 'q4f16');
    assert.equal(await resolveDtype(dir, 'q8'), 'q8', 'an explicit dtype is passed through');
    assert.equal(await resolveDtype(dir, 'auto', { configDtype: 'q4' }), 'q4', "config.json's own dtype comes first");
    assert.equal(await resolveDtype(dir, 'auto', { configDtype: 'bnb4' }), 'fp32', 'unless its file is missing');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('fused encoder ops reproduce their own output from the exposed probabilities', function () {
  this.timeout(60_000);
  const engine = new Engine();
  after(() => engine.dispose());

  for (const folder of ['bert-tiny-ms-attention', 'bert-tiny-mha', 'bert-tiny-onnx-attention']) {
    it(`${folder}: probabilities · V equals the op's own output (within 1e-4)`, async () => {
      const file = join(FIXTURES, folder, 'onnx', 'model.onnx');
      const s = await engine.analyze({
        model: join(FIXTURES, folder),
        dtype: 'fp32',
        text: SENTENCE,
        allowRemote: false,
      });
      const n = s.n;
      const ids = s.tokens.map((t) => t.id);
      // The op's own output for layer 0, by running the untouched fixture with that tensor as an extra output.
      const model = onnx.ModelProto.decode(readFileSync(file));
      const node = model.graph!.node!.find(
        (x) => /layer\.0\/attention/.test(x.name ?? '') && /Attention/.test(x.opType ?? ''),
      )!;
      model.graph!.output!.push(onnx.ValueInfoProto.create({ name: node.output![0] }));
      const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish());
      const i64 = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [1, v.length]);
      const out = await session.run(
        { input_ids: i64(ids), attention_mask: i64(ids.map(() => 1)), token_type_ids: i64(ids.map(() => 0)) },
        [node.output![0]],
      );
      const own = out[node.output![0]].data as Float32Array;
      await session.release();
      const v = referenceValues(file, ids, 'encoder');
      const heads = s.model.heads[0];
      const a = v.length / n;
      const dh = a / heads;
      const maps = await layerMaps(engine, s.analysisId, 0, heads);
      let worst = 0;
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < n; i++)
          for (let c = 0; c < dh; c++) {
            let sum = 0;
            for (let j = 0; j < n; j++) sum += maps[h][i * n + j] * v[j * a + h * dh + c];
            worst = Math.max(worst, Math.abs(sum - own[i * a + h * dh + c]));
          }
      assert.ok(worst <= 1e-4, `max abs error ${worst}`);
      assert.equal(s.model.attentionOps[0], node.opType);
    });
  }
});
