import { strict as assert } from 'node:assert';
import { validateFromWebview } from '../../src/host/validate-message';
import type { AnalysisSummary, Seq2SeqReply } from '../../src/protocol/messages';

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

  it('encoder–decoder requests and exports: a known family, its layers and heads, the analysis on display', () => {
    const seq2seq = {
      analysisId: 9,
      model: { layers: { encoder: 2, decoder: 3 }, heads: { encoder: [4, 4], decoder: [2, 2, 8] } },
      tokens: [{}, {}, {}],
    } as unknown as Seq2SeqReply;
    const slice = (params: object) => validateFromWebview(req('familySlice', params), undefined, seq2seq);
    // The editor heat of the source: weights over the source tokens only.
    assert.deepEqual(validateFromWebview({ type: 'focusToken', index: 2, weights: [0, 0.5, 1] }, undefined, seq2seq), {
      type: 'focusToken',
      index: 2,
      weights: [0, 0.5, 1],
    });
    assert.equal(
      validateFromWebview({ type: 'focusToken', index: 3, weights: [0, 0, 0] }, undefined, seq2seq),
      undefined,
    );
    assert.equal(validateFromWebview({ type: 'focusToken', index: 0, weights: [0, 0] }, undefined, seq2seq), undefined);
    // As float32 bytes (the long view): the same checks, handed on as numbers.
    const bytes = (values: number[]) => Float32Array.from(values).buffer;
    assert.deepEqual(
      validateFromWebview(
        { type: 'focusToken', index: 1, weightsBuffer: bytes([0.25, 0.5, 0.25]) },
        undefined,
        seq2seq,
      ),
      { type: 'focusToken', index: 1, weights: [0.25, 0.5, 0.25] },
    );
    for (const weightsBuffer of [bytes([0, 2, 0]), bytes([0, 1]), bytes([Number.NaN, 0, 0]), 'abc', [1, 2, 3]])
      assert.equal(validateFromWebview({ type: 'focusToken', index: 1, weightsBuffer }, undefined, seq2seq), undefined);
    assert.deepEqual(slice({ analysisId: 9, family: 'cross', layer: 2, head: 7, x: '<b>' }), {
      kind: 'request',
      id: 1,
      method: 'familySlice',
      params: { analysisId: 9, family: 'cross', layer: 2, head: 7 },
    });
    assert.ok(slice({ analysisId: 9, family: 'encoder', layer: 1, head: 'mean' }));
    assert.ok(slice({ analysisId: 9, family: 'decoder', layer: 2, head: 'rollout' }));
    assert.equal(slice({ analysisId: 9, family: 'cross', layer: 0, head: 'rollout' }), undefined);
    for (const bad of [
      { analysisId: 8, family: 'cross', layer: 0, head: 0 },
      { analysisId: 9, family: 'sideways', layer: 0, head: 0 },
      { analysisId: 9, family: 'encoder', layer: 2, head: 0 },
      { analysisId: 9, family: 'decoder', layer: 0, head: 2 },
      { analysisId: 9, family: 'cross', layer: 0, head: 'rollout' },
    ])
      assert.equal(slice(bad), undefined, JSON.stringify(bad));
    assert.equal(
      validateFromWebview(req('familySlice', { analysisId: 9, family: 'cross', layer: 0, head: 0 }), undefined),
      undefined,
    );
    const exp = { type: 'exportSeq2SeqJson', analysisId: 9, family: 'decoder', layer: 2, head: 'max' };
    assert.deepEqual(validateFromWebview({ ...exp, path: '/etc/passwd' }, undefined, seq2seq), exp);
    assert.equal(validateFromWebview({ ...exp, layer: 3 }, undefined, seq2seq), undefined);
  });

  it('long-input requests: only for a long analysis, one head or mean / max, tiles of at most 1,024 inside N', () => {
    const long = { ...summary, n: 4096, long: { block: 16, size: 256, keptBytes: 1, fullBytes: 2 } } as AnalysisSummary;
    assert.deepEqual(validateFromWebview(req('overview', { analysisId: 7, layer: 1, head: 3, x: 1 }), long), {
      kind: 'request',
      id: 1,
      method: 'overview',
      params: { analysisId: 7, layer: 1, head: 3 },
    });
    assert.ok(validateFromWebview(req('received', { analysisId: 7, layer: 0, head: 'max' }), long));
    assert.deepEqual(
      validateFromWebview(req('tile', { analysisId: 7, layer: 1, head: 2, row: 4000, col: 0, size: 512 }), long),
      {
        kind: 'request',
        id: 1,
        method: 'tile',
        params: { analysisId: 7, layer: 1, head: 2, row: 4000, col: 0, size: 512 },
      },
    );
    for (const bad of [
      req('overview', { analysisId: 7, layer: 0, head: 'rollout' }),
      req('overview', { analysisId: 7, layer: 0, head: 2 }),
      req('received', { analysisId: 8, layer: 0, head: 0 }),
      req('tile', { analysisId: 7, layer: 0, head: 0, row: 4096, col: 0, size: 16 }),
      req('tile', { analysisId: 7, layer: 0, head: 0, row: 0, col: 0, size: 2048 }),
      req('tile', { analysisId: 7, layer: 0, head: 'mean', row: 0, col: 0, size: 16 }),
      req('layerOperands', { analysisId: 7, layer: 2 }),
      req('layerOperands', { analysisId: 7, layer: -1 }),
    ])
      assert.equal(validateFromWebview(bad, long), undefined, JSON.stringify(bad));
    assert.deepEqual(validateFromWebview(req('layerOperands', { analysisId: 7, layer: 1, extra: 'x' }), long), {
      kind: 'request',
      id: 1,
      method: 'layerOperands',
      params: { analysisId: 7, layer: 1 },
    });
    assert.equal(validateFromWebview(req('layerOperands', { analysisId: 7, layer: 0 }), summary), undefined);
    // A full analysis has no overviews or tiles to ask for.
    assert.equal(validateFromWebview(req('overview', { analysisId: 7, layer: 0, head: 0 }), summary), undefined);
    assert.equal(
      validateFromWebview(req('tile', { analysisId: 7, layer: 0, head: 0, row: 0, col: 0, size: 2 }), summary),
      undefined,
    );
  });
});
