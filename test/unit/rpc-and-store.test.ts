import { strict as assert } from 'node:assert';
import { AttentionStore } from '../../src/worker/attention-store';
import { EngineError, RpcClient, serve } from '../../src/protocol/rpc';
import type { ReplyMessage, RequestMessage } from '../../src/protocol/messages';

interface TestApi {
  double(p: { x: number }): number;
  boom(p: Record<string, never>): number;
  never(p: Record<string, never>): number;
}

describe('rpc', () => {
  const impl = {
    double: async ({ x }: { x: number }) => x * 2,
    boom: async () => {
      throw new EngineError('bad-input', 'no good');
    },
    never: () => new Promise<number>(() => undefined),
  };
  function pair() {
    let client!: RpcClient<TestApi>;
    client = new RpcClient<TestApi>((m: RequestMessage<TestApi>) => {
      void serve<TestApi>(impl, m).then(({ reply }) =>
        client.receive(JSON.parse(JSON.stringify(reply)) as ReplyMessage),
      );
    });
    return client;
  }

  it('answers by id and carries errors as data', async () => {
    const c = pair();
    assert.deepEqual(await Promise.all([c.call('double', { x: 2 }), c.call('double', { x: 5 })]), [4, 10]);
    await assert.rejects(
      c.call('boom', {}),
      (e: EngineError) => e instanceof EngineError && e.code === 'bad-input' && e.message === 'no good',
    );
  });

  it('times out and fails pending calls on dispose', async () => {
    const c = pair();
    await assert.rejects(c.call('never', {}, 30), (e: EngineError) => e.code === 'timeout');
    const p = c.call('never', {}, 0);
    assert.equal(c.inFlight, 1);
    c.failAll(new EngineError('cancelled', 'bye'));
    await assert.rejects(p, (e: EngineError) => e.code === 'cancelled');
    assert.equal(c.inFlight, 0);
  });
});

describe('attention store', () => {
  const n = 4;
  const heads = [2];
  const data = new Float32Array(2 * n * n).map((_, i) => (i % 7) / 10);
  const store = new AttentionStore(n, [data], heads);

  it('slices one head as its own buffer', () => {
    const s = store.slice(0, 1);
    assert.equal(s.buffer.byteLength, n * n * 4);
    assert.deepEqual(Array.from(s), Array.from(data.subarray(n * n)));
  });

  it('aggregates mean and max over heads', () => {
    const mean = store.slice(0, 'mean');
    const max = store.slice(0, 'max');
    for (let i = 0; i < n * n; i++) {
      assert.ok(Math.abs(mean[i] - (data[i] + data[n * n + i]) / 2) < 1e-7);
      assert.equal(max[i], Math.max(data[i], data[n * n + i]));
    }
  });

  it('block-averages thumbnails', () => {
    const t = store.thumbnails(2);
    assert.equal(t.size, 2);
    assert.equal(t.data.length, 2 * 4);
    const expect = (h: number, bi: number, bj: number) => {
      let s = 0;
      for (let i = bi * 2; i < bi * 2 + 2; i++)
        for (let j = bj * 2; j < bj * 2 + 2; j++) s += data[h * n * n + i * n + j];
      return s / 4;
    };
    assert.ok(Math.abs(t.data[0] - expect(0, 0, 0)) < 1e-6);
    assert.ok(Math.abs(t.data[4 + 3] - expect(1, 1, 1)) < 1e-6);
  });

  it('caps the thumbnail grid: its side shrinks for many heads, and over 2,048 heads there is no grid', () => {
    const n = 40;
    const layersOf = (heads: number[]) => heads.map((h) => new Float32Array(h * n * n).fill(1 / n));
    const many = new AttentionStore(n, layersOf([1024, 1024]), [1024, 1024]);
    const t = many.thumbnails(32);
    assert.equal(t.size, 24, 'side shrunk from 32 to fit 2,048 heads');
    assert.equal(t.data.length, 2048 * 24 * 24);
    assert.ok(Math.abs(t.data[5] - 1 / n) < 1e-6);
    const tooMany = new AttentionStore(2, [new Float32Array(2049 * 4)], [2049]);
    assert.deepEqual(tooMany.thumbnails(24), { size: 0, data: new Float32Array(0) });
  });

  it('validates indices', () => {
    assert.throws(() => store.slice(1, 0), /out of range/);
    assert.throws(() => store.slice(0, 2), /out of range/);
    assert.throws(() => store.slice(0, -1), /out of range/);
  });
});
