import { strict as assert } from 'node:assert';
import { attentionCost, bytes, compact, statusText } from '../../src/host/cost';

describe('attention cost arithmetic', () => {
  it('follows the lesson: 100 -> 10,000; 1,000 -> 1M; 128,000 -> 16.4B per layer', () => {
    assert.equal(compact(100 * 100), '10k');
    assert.equal(compact(1000 * 1000), '1M');
    assert.equal(compact(128_000 * 128_000), '16.4B');
    assert.equal(statusText(128_000, false), '128k tok · N² = 16.4B');
    assert.equal(statusText(12_345, true), '≈12.3k tok · N² = ≈152M');
    assert.equal(compact(950), '950');
  });

  it('multiplies by heads and layers and sizes the maps', () => {
    const c = attentionCost(512, { heads: new Array(12).fill(12), hiddenSize: 768, maxPositions: 512 });
    assert.equal(c.perHeadPerLayer, 262_144);
    assert.equal(c.perForwardPass, 262_144 * 144);
    assert.equal(c.mapBytes, 262_144 * 144 * 4);
    assert.equal(bytes(c.mapBytes), '144.0 MiB');
    assert.equal(c.flops, 4 * 512 * 512 * 768 * 12);
    assert.equal(c.fits, true);
    assert.equal(attentionCost(1300, { heads: [12], hiddenSize: 768, maxPositions: 512 }).windows, 3);
  });
});
