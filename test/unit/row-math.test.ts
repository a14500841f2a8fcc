import { strict as assert } from 'node:assert';
import { focusDistribution, keepTopMass, normaliseRows, renormalise, topIndices } from '../../webview/row-math';

describe('panel row arithmetic', () => {
  const m = Float32Array.from([0.5, 0.3, 0.2, 0.1, 0.1, 0.8, 0.6, 0.4, 0]);

  it('renormalises rows over visible tokens and zeroes hidden rows', () => {
    const r = renormalise(m, 3, [true, false, false]);
    assert.deepEqual(Array.from(r.subarray(0, 3)), [0, 0, 0]);
    assert.ok(Math.abs(r[4] - 0.1 / 0.9) < 1e-7 && Math.abs(r[5] - 0.8 / 0.9) < 1e-7 && r[3] === 0);
    assert.equal(renormalise(m, 3, [false, false, false]), m, 'nothing hidden: no copy');
  });

  it('keeps the top share of each row mass', () => {
    const k = keepTopMass(m, 3, 3, 0.6);
    assert.deepEqual(Array.from(k), [0.5, 0.3, 0, 0, 0, Math.fround(0.8), Math.fround(0.6), 0, 0].map(Math.fround));
    assert.equal(keepTopMass(m, 3, 3, 1), m);
  });

  it('columns are shares of what the token receives; rows are copied', () => {
    const c = focusDistribution(m, 3, 0, 'column');
    assert.ok(Math.abs(c[0] - 0.5 / 1.2) < 1e-6 && Math.abs(c.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    assert.deepEqual(Array.from(focusDistribution(m, 3, 1, 'row')), Array.from(m.subarray(3, 6)));
  });

  it('normalises per-head rows and ranks the top k like a full sort', () => {
    const rows = normaliseRows(Float32Array.from([2, 1, 1, 0, 0, 0]), 2, 3, [false, false, true]);
    assert.deepEqual(Array.from(rows), [2 / 3, 1 / 3, 0, 0, 0, 0].map(Math.fround));
    let seed = 5;
    const values = Array.from({ length: 500 }, () => {
      seed = (seed * 16807) % 2147483647;
      return (seed % 1000) / 1000;
    });
    const full = values
      .map((_v, j) => j)
      .filter((j) => values[j] > 0)
      .sort((a, b) => values[b] - values[a] || a - b)
      .slice(0, 12);
    assert.deepEqual(
      topIndices(values, 12).map((j) => values[j]),
      full.map((j) => values[j]),
    );
  });
});
