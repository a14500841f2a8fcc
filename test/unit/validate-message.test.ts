import { strict as assert } from 'node:assert';
import { validateFromWebview } from '../../src/host/validate-message';
import type { AnalysisSummary } from '../../src/protocol/messages';

const summary = { analysisId: 7, n: 5, model: { layers: 2, heads: [2, 4] } } as unknown as AnalysisSummary;

/** A panel-API request as the webview's RpcClient sends it. */
const req = (method: string, params: unknown, id: unknown = 1) => ({ kind: 'request', id, method, params });

describe('messages from the webview are validated', () => {
  it('accepts well-formed requests and notifications, rebuilt from the checked fields only', () => {
    assert.deepEqual(validateFromWebview(req('slice', { analysisId: 7, layer: 1, head: 3, extra: 1 }), summary), {
      kind: 'request',
      id: 1,
      method: 'slice',
      params: { analysisId: 7, layer: 1, head: 3 },
    });
    assert.ok(validateFromWebview(req('slice', { analysisId: 7, layer: 0, head: 'mean' }, 2), summary));
    assert.ok(validateFromWebview(req('slice', { analysisId: 7, layer: 1, head: 'rollout' }, 4), summary));
    assert.ok(validateFromWebview(req('rows', { analysisId: 7, layer: 0, index: 4, direction: 'column' }, 3), summary));
    assert.ok(validateFromWebview(req('thumbnails', { analysisId: 7, size: 24 }), summary));
    assert.deepEqual(validateFromWebview({ type: 'ready', extra: '<script>' }, summary), { type: 'ready' });
    assert.deepEqual(
      validateFromWebview(req('rankHeads', { analysisId: 7, by: { kind: 'pair', query: 4, key: 0, x: 1 } }), summary),
      {
        kind: 'request',
        id: 1,
        method: 'rankHeads',
        params: { analysisId: 7, by: { kind: 'pair', query: 4, key: 0 } },
      },
    );
    assert.ok(validateFromWebview(req('rankHeads', { analysisId: 7, by: { kind: 'previous' } }), summary));
    assert.deepEqual(validateFromWebview({ type: 'view', layer: 1, head: 'max' }, summary), {
      type: 'view',
      layer: 1,
      head: 'max',
    });
    assert.deepEqual(validateFromWebview({ type: 'action', action: 'selectModel' }, summary), {
      type: 'action',
      action: 'selectModel',
    });
  });

  it('drops anything malformed or out of range', () => {
    const bad: unknown[] = [
      null,
      'ready',
      42,
      {},
      { type: 'eval', code: 'x' },
      { type: 'requestSlice', requestId: 1, analysisId: 7, layer: 0, head: 0 },
      req('eval', { analysisId: 7 }),
      req('analyze', { analysisId: 7, text: 'x', model: '/etc' }),
      req('release', { analysisId: 7 }),
      req('slice', { analysisId: 8, layer: 0, head: 0 }),
      req('slice', { analysisId: 7, layer: 2, head: 0 }),
      req('slice', { analysisId: 7, layer: 0, head: 2 }),
      req('slice', { analysisId: 7, layer: -1, head: 0 }),
      req('slice', { analysisId: 7, layer: 0.5, head: 0 }),
      req('slice', { analysisId: 7, layer: '0', head: 0 }),
      req('slice', { analysisId: 7, layer: 0, head: 'all' }),
      req('slice', { analysisId: 7, layer: 0, head: 0 }, -3),
      req('slice', { analysisId: 7, layer: 0, head: 0 }, 'x'),
      req('slice', undefined),
      req('rows', { analysisId: 7, layer: 0, index: 5, direction: 'row' }),
      req('rows', { analysisId: 7, layer: 0, index: 0, direction: 'diagonal' }),
      req('thumbnails', { analysisId: 7, size: 100000 }),
      { type: 'focusToken', index: 99 },
      req('rankHeads', { analysisId: 7, by: { kind: 'pair', query: 5, key: 0 } }),
      req('rankHeads', { analysisId: 7, by: { kind: 'everything' } }),
      req('rankHeads', { analysisId: 7 }),
      { type: 'view', layer: 2, head: 0 },
      { type: 'view', layer: 0, head: 5 },
      { type: 'action', action: 'runTerminalCommand' },
    ];
    for (const m of bad) assert.equal(validateFromWebview(m, summary), undefined, JSON.stringify(m));
    assert.equal(
      validateFromWebview(req('slice', { analysisId: 7, layer: 0, head: 0 }), undefined),
      undefined,
      'nothing shown: nothing to slice',
    );
  });
});
