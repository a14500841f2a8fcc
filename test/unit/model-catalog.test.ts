import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CURATED, cachedModels, describeCurated } from '../../src/host/model-catalog';
import { FIXTURES } from './fixtures';

describe('model catalog', () => {
  it('lists curated hub models with their shape', () => {
    assert.ok(CURATED.length >= 5);
    for (const m of CURATED) assert.match(m.id, /^[\w.-]+\/[\w.-]+$/);
    assert.ok(CURATED.some((m) => m.kind === 'causal') && CURATED.some((m) => m.kind === 'encoder'));
  });

  it('finds cached models (config.json + onnx files) and ignores partial folders', () => {
    const dir = mkdtempSync(join(tmpdir(), 'al-catalog-'));
    try {
      const model = join(dir, 'test-org', 'bert-tiny');
      mkdirSync(join(model, 'onnx'), { recursive: true });
      copyFileSync(join(FIXTURES, 'bert-tiny', 'config.json'), join(model, 'config.json'));
      copyFileSync(join(FIXTURES, 'bert-tiny', 'onnx', 'model.onnx'), join(model, 'onnx', 'model.onnx'));
      mkdirSync(join(dir, 'test-org', 'half-downloaded', 'onnx'), { recursive: true });
      writeFileSync(join(dir, 'test-org', 'half-downloaded', 'onnx', 'model.onnx.tmp.1.abc'), 'x');
      const found = cachedModels(dir);
      assert.deepEqual(
        found.map((m) => m.id),
        ['test-org/bert-tiny'],
      );
      assert.deepEqual(found[0].files, ['model.onnx']);
      assert.equal(found[0].bytes, statSync(join(FIXTURES, 'bert-tiny', 'onnx', 'model.onnx')).size);
      assert.deepEqual(cachedModels(join(dir, 'nope')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the picker says which curated models are here, and offline which cannot load yet', () => {
    const m = CURATED[0];
    assert.match(describeCurated(m, true, false), /· cached$/);
    assert.match(describeCurated(m, false, true), /downloads on first use$/);
    assert.match(describeCurated(m, false, false), /not downloaded, and downloads are off$/);
    assert.match(describeCurated(m, false, false), /12 layers × 12 heads · ≈ fp32 440 MB · fp16 220 MB · q8 110 MB/);
    const opus = CURATED.find((c) => c.id === 'Xenova/opus-mt-en-fr');
    assert.ok(opus, "a translator for the lesson's example");
    assert.match(
      describeCurated(opus, false, true),
      /^encoder-decoder, 6 \+ 6 layers × 8 heads · ≈ fp32 420 MB · q8 110 MB/,
    );
  });

  it('lists the small decoders people run today, with their KV heads and the dtypes each ships', () => {
    const ids = CURATED.map((m) => m.id);
    for (const id of [
      'HuggingFaceTB/SmolLM2-135M-Instruct',
      'HuggingFaceTB/SmolLM2-360M-Instruct',
      'onnx-community/Qwen2.5-0.5B-Instruct',
      'onnx-community/Qwen3-0.6B-ONNX',
      'onnx-community/Llama-3.2-1B-Instruct',
      'onnx-community/gemma-3-270m-it-ONNX',
    ])
      assert.ok(ids.includes(id), id);
    const smol = CURATED.find((m) => m.id === 'HuggingFaceTB/SmolLM2-135M-Instruct')!;
    assert.match(
      describeCurated(smol, false, true),
      /30 layers × 9 heads \(3 KV\) · ≈ fp32 540 MB · fp16 270 MB · q8 140 MB · q4f16 120 MB · q4 160 MB · bnb4 150 MB/,
    );
    const llama = CURATED.find((m) => m.id === 'onnx-community/Llama-3.2-1B-Instruct')!;
    assert.match(describeCurated(llama, false, true), /fp32 4\.9 GB/);
    for (const m of CURATED) assert.ok(m.heads % m.kvHeads === 0 && Object.keys(m.dtypes).length > 0, m.id);
  });
});
