import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fuzzSurgery } from './surgery-fuzz';
import { FIXTURES } from './fixtures';

describe('graph surgery under fuzzing', function () {
  this.timeout(120_000);

  it('500 mutated or truncated fixture models each succeed or throw the typed error, quickly', () => {
    const files = [
      'bert-tiny/onnx/model.onnx',
      'bert-tiny/onnx/model_quantized.onnx',
      'gpt2-tiny-merged/onnx/model.onnx',
      'bert-tiny-ms-attention/onnx/model.onnx',
      'llama-tiny-gqa/onnx/model.onnx',
      'llama-tiny-external/onnx/model.onnx',
    ].map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(FIXTURES, f))) }));
    const report = fuzzSurgery(files, 500, 20261127, 2_000);
    assert.deepEqual(report.bad, [], report.bad.slice(0, 10).join('\n'));
    const typed = Object.values(report.typed).reduce((a, b) => a + b, 0);
    assert.equal(report.ok + typed, 500);
    assert.ok(typed > 100 && report.ok > 20, `a mix of outcomes: ${JSON.stringify(report)}`);
  });
});
