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
    assert.match(describeCurated(m, false, false), /12 layers × 12 heads/);
  });
});
