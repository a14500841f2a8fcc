import { strict as assert } from 'node:assert';
import type { AnalysisSummary } from '../../src/protocol/messages';
import { validateFromWebview } from '../../src/host/validate-message';

const summary = { analysisId: 7, n: 5, model: { layers: 2, heads: [2, 4] } } as unknown as AnalysisSummary;

describe('messages from the webview are validated', () => {
  it('accepts well-formed requests', () => {
    assert.deepEqual(
      validateFromWebview({ type: 'requestSlice', requestId: 1, analysisId: 7, layer: 1, head: 3 }, summary),
      { type: 'requestSlice', requestId: 1, analysisId: 7, layer: 1, head: 3 },
    );
    assert.ok(
      validateFromWebview({ type: 'requestSlice', requestId: 2, analysisId: 7, layer: 0, head: 'mean' }, summary),
    );
    assert.ok(
      validateFromWebview(
        { type: 'requestRows', requestId: 3, analysisId: 7, layer: 0, index: 4, direction: 'column' },
        summary,
      ),
    );
    assert.ok(validateFromWebview({ type: 'requestThumbnails', analysisId: 7, size: 24 }, summary));
    assert.deepEqual(validateFromWebview({ type: 'ready', extra: '<script>' }, summary), { type: 'ready' });
    assert.ok(
      validateFromWebview({ type: 'requestSlice', requestId: 4, analysisId: 7, layer: 1, head: 'rollout' }, summary),
    );
    assert.deepEqual(
      validateFromWebview({ type: 'rankHeads', analysisId: 7, by: { kind: 'pair', query: 4, key: 0, x: 1 } }, summary),
      { type: 'rankHeads', analysisId: 7, by: { kind: 'pair', query: 4, key: 0 } },
    );
    assert.ok(validateFromWebview({ type: 'rankHeads', analysisId: 7, by: { kind: 'previous' } }, summary));
  });

  it('drops anything malformed or out of range', () => {
    const bad: unknown[] = [
      null,
      'ready',
      42,
      {},
      { type: 'eval', code: 'x' },
      { type: 'requestSlice', requestId: 1, analysisId: 8, layer: 0, head: 0 },
      { type: 'requestSlice', requestId: 1, analysisId: 7, layer: 2, head: 0 },
      { type: 'requestSlice', requestId: 1, analysisId: 7, layer: 0, head: 2 },
      { type: 'requestSlice', requestId: 1, analysisId: 7, layer: -1, head: 0 },
      { type: 'requestSlice', requestId: 1, analysisId: 7, layer: 0.5, head: 0 },
      { type: 'requestSlice', requestId: 1, analysisId: 7, layer: '0', head: 0 },
      { type: 'requestSlice', requestId: 1, analysisId: 7, layer: 0, head: 'all' },
      { type: 'requestSlice', requestId: -3, analysisId: 7, layer: 0, head: 0 },
      { type: 'requestRows', requestId: 1, analysisId: 7, layer: 0, index: 5, direction: 'row' },
      { type: 'requestRows', requestId: 1, analysisId: 7, layer: 0, index: 0, direction: 'diagonal' },
      { type: 'requestThumbnails', analysisId: 7, size: 100000 },
      { type: 'focusToken', index: 99 },
      { type: 'rankHeads', analysisId: 7, by: { kind: 'pair', query: 5, key: 0 } },
      { type: 'rankHeads', analysisId: 7, by: { kind: 'everything' } },
      { type: 'rankHeads', analysisId: 7 },
    ];
    for (const m of bad) assert.equal(validateFromWebview(m, summary), undefined, JSON.stringify(m));
    assert.equal(
      validateFromWebview({ type: 'requestSlice', requestId: 1, analysisId: 7, layer: 0, head: 0 }, undefined),
      undefined,
      'nothing shown: nothing to slice',
    );
  });
});
