// Generation with attention (issue 16, engine and command line): greedy tokens equal transformers.js's own generate,
// the rows kept while generating (with the KV cache, one token per step) equal a fresh no-cache pass over the whole
// sequence, and the next-token lists are distributions whose top is the greedy choice.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer } from '@huggingface/transformers';
import { EngineClient } from '../../src/host/engine-client';
import { continuationText } from '../../src/protocol/format';
import { Engine } from '../../src/worker/engine';
import { generateWithAttention } from '../../src/worker/generation';
import { encode } from '../../src/worker/tokenize';
import { FIXTURES, SENTENCE } from './fixtures';

const PROMPT = 'Arjun ate the pizza because';
const LAYOUTS = [
  { folder: 'llama-tiny', cached: true },
  { folder: 'llama-tiny-gqa', cached: true },
  { folder: 'gpt2-tiny-past', cached: true },
  { folder: 'gpt2-tiny', cached: false },
  { folder: 'gpt2-tiny-merged', cached: false },
];

describe('generation with attention', function () {
  this.timeout(120_000);
  const engine = new Engine();
  after(() => engine.dispose());
  const params = (folder: string) => ({
    model: join(FIXTURES, folder),
    dtype: 'fp32' as const,
    text: PROMPT,
    allowRemote: false,
    maxNewTokens: 8,
  });

  for (const { folder, cached } of LAYOUTS) {
    it(`${folder}: the rows kept while generating equal a no-cache pass over prompt + continuation (≤ 1e-4)`, async () => {
      const r = await engine.generate(params(folder));
      assert.equal(r.cached, cached, 'KV cache used when the graph has one');
      assert.equal(r.n, r.promptTokens + r.generated.length);
      assert.ok(r.generated.length >= 1);
      assert.ok(r.tokens.slice(r.promptTokens).every((t) => t.generated && t.start === null));
      const model = await engine.ensureModel(params(folder));
      const full = await model.run(r.tokens.map((t) => t.id));
      let worst = 0;
      for (const [l, data] of full.entries())
        for (let h = 0; h < r.model.heads[l]; h++) {
          const got = new Float32Array((await engine.slice({ analysisId: r.analysisId, layer: l, head: h })).buffer);
          for (let i = 0; i < r.n * r.n; i++) worst = Math.max(worst, Math.abs(got[i] - data[h * r.n * r.n + i]));
        }
      assert.ok(worst <= 1e-4, `max abs error ${worst}`);
    });
  }

  for (const folder of ['llama-tiny', 'gpt2-tiny-past']) {
    it(`${folder}: greedy tokens equal transformers.js's own generate`, async () => {
      const dir = join(FIXTURES, folder);
      const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true } as never);
      const lm = await AutoModelForCausalLM.from_pretrained(dir, { dtype: 'fp32', local_files_only: true } as never);
      const inputs = tokenizer(PROMPT);
      const out = (await lm.generate({ ...inputs, max_new_tokens: 8, do_sample: false } as never)) as {
        tolist(): bigint[][];
      };
      await lm.dispose();
      const theirs = out.tolist()[0].map(Number);
      const r = await engine.generate(params(folder));
      assert.deepEqual(
        r.tokens.map((t) => t.id),
        theirs,
      );
    });
  }

  it('streams each generated token as an event before the reply', async () => {
    const events: { index: number; text: string }[] = [];
    const r = await engine.generate(params('llama-tiny'), (e) => {
      if ('token' in e) events.push({ index: e.index, text: e.token.text });
    });
    assert.deepEqual(
      events,
      r.generated.map((g, index) => ({ index, text: g.text })),
    );
  });

  it('stopGenerating ends a running generate after its step; the reply holds what was written', async () => {
    const client = new EngineClient(join(__dirname, '..', '..', 'dist', 'worker.js'));
    try {
      await client.call('generate', { ...params('llama-tiny'), maxNewTokens: 2 }); // loads the model
      let stopAsked = false;
      const reply = await client.call('generate', { ...params('llama-tiny'), maxNewTokens: 200 }, (e) => {
        if ('token' in e && e.index === 2 && !stopAsked) {
          stopAsked = true;
          void client.call('stopGenerating', {});
        }
      });
      assert.ok(stopAsked);
      assert.ok(reply.generated.length >= 3 && reply.generated.length < 200, `stopped after ${reply.generated.length}`);
      assert.equal(reply.n, reply.promptTokens + reply.generated.length);
      const idle = await client.call('stopGenerating', {});
      assert.equal(idle.stopping, false, 'nothing to stop once it is done');
    } finally {
      await client.dispose();
    }
  });

  it('each position has a next-token distribution (sums ≤ 1, best first), and greedy picks its top', async () => {
    const r = await engine.generate(params('llama-tiny'));
    assert.equal(r.expected.length, r.n);
    for (const list of r.expected) {
      assert.equal(list.length, 5);
      const sum = list.reduce((a, t) => a + t.p, 0);
      assert.ok(sum <= 1 + 1e-5 && sum > 0, `sum ${sum}`);
      for (let k = 1; k < list.length; k++) assert.ok(list[k].p <= list[k - 1].p);
    }
    for (const [j, g] of r.generated.entries()) {
      assert.equal(g.id, g.topk[0].id, 'greedy: the top of the distribution it was drawn from');
      assert.deepEqual(g.topk, r.expected[r.promptTokens + j - 1]);
    }
  });

  it('sampling: the same seed gives the same continuation; tokens come from the top k', async () => {
    const sample = (seed: number) =>
      engine.generate({ ...params('llama-tiny'), temperature: 1.5, topK: 5, seed, maxNewTokens: 12 });
    const a = await sample(7);
    const b = await sample(7);
    const c = await sample(8);
    assert.deepEqual(
      a.generated.map((g) => g.id),
      b.generated.map((g) => g.id),
    );
    assert.notDeepEqual(
      a.generated.map((g) => g.id),
      c.generated.map((g) => g.id),
      'another seed, another continuation',
    );
    for (const g of [...a.generated, ...c.generated])
      assert.ok(
        g.topk.some((t) => t.id === g.id),
        'drawn from its top 5',
      );
  });

  it('stops at a stop token, and a cancel keeps a consistent prefix', async () => {
    const model = await engine.ensureModel(params('llama-tiny'));
    const ids = encode(model.tokenizer, PROMPT);
    const greedy = await generateWithAttention(model, ids, { maxNewTokens: 8 });
    const first = greedy.ids[ids.length];
    const stopped = await generateWithAttention(model, ids, { maxNewTokens: 8, stopIds: [first] });
    assert.equal(stopped.ids.length, ids.length + 1, 'the stop token ends it (and is kept)');
    const cancelled = await generateWithAttention(model, ids, { maxNewTokens: 8, onToken: (_, i) => i < 2 });
    assert.equal(cancelled.ids.length, ids.length + 2);
    assert.deepEqual(cancelled.ids, greedy.ids.slice(0, ids.length + 2));
    assert.equal(cancelled.layers[0].length, model.info.heads[0] * cancelled.ids.length ** 2);
    // Without the prompt's per-position lists (the benchmark's attention-only mode): the same tokens and rows.
    const lean = await generateWithAttention(model, ids, { maxNewTokens: 8, promptExpectations: false });
    assert.deepEqual(lean.ids, greedy.ids);
    assert.deepEqual(lean.layers, greedy.layers);
    assert.equal(lean.next[0].length, 0);
    assert.deepEqual(lean.next[ids.length - 1], greedy.next[ids.length - 1]);
  });

  for (const [folder, head] of [
    ['llama-tiny', 1],
    ['gpt2-tiny', 'mean'],
  ] as const) {
    it(`${folder}: the live rows streamed while writing grow into the final matrix of the watched head (${head})`, async () => {
      const layer = 1;
      let live = new Float32Array(0);
      let n = 0;
      let promptTokens = 0;
      let order = '';
      const r = await engine.generate({ ...params(folder), watch: { layer, head } }, (e) => {
        if ('token' in e) order += 't';
        if (!('live' in e)) return;
        order += 'r';
        const { from, to, buffer, tokens } = e.live;
        assert.equal(e.live.layer, layer);
        if (tokens) promptTokens = tokens.length;
        assert.equal(from, tokens ? 0 : n, 'rows arrive in order, the prompt first');
        const grown = new Float32Array(to * to);
        for (let q = 0; q < n; q++) grown.set(live.subarray(q * n, (q + 1) * n), q * to);
        grown.set(new Float32Array(buffer), from * to);
        live = grown;
        n = to;
      });
      assert.equal(promptTokens, r.promptTokens);
      assert.equal(n, r.n, 'every generated token gets its row');
      assert.match(order, /^r(tr)+$/, 'the prompt rows, then each token followed by its row');
      const want = new Float32Array((await engine.slice({ analysisId: r.analysisId, layer, head })).buffer);
      let worst = 0;
      for (let i = 0; i < n * n; i++) worst = Math.max(worst, Math.abs(live[i] - want[i]));
      assert.ok(worst <= 1e-6, `max abs difference ${worst}`);
    });
  }

  it('a stop sequence ends the continuation; the reply names it and says why each run stopped', async () => {
    const full = await engine.generate(params('llama-tiny'));
    assert.equal(full.stoppedBy, 'length');
    // A stop text that the greedy continuation reaches at its third token.
    const written = full.generated.map((g) => g.text).join('');
    const third = full.generated
      .slice(0, 3)
      .map((g) => g.text)
      .join('');
    const stop = third.slice(-Math.min(3, third.trim().length)).trim() || third;
    const at = written.indexOf(stop);
    assert.ok(at >= 0);
    const r = await engine.generate({ ...params('llama-tiny'), stopSequences: ['never appears ✗', stop] });
    assert.equal(r.stoppedBy, 'stop-sequence');
    assert.equal(r.stopSequence, stop);
    const got = r.generated.map((g) => g.text).join('');
    assert.ok(got.includes(stop) && got.length < written.length, `stopped at ${JSON.stringify(got)}`);
    const beforeLast = got.slice(0, got.length - (r.generated.at(-1)?.text.length ?? 0));
    assert.ok(!beforeLast.includes(stop), 'it stops at the token that completes the stop text');
    assert.equal(continuationText(r), got.slice(0, got.indexOf(stop)), 'Insert leaves the stop text out');
    assert.equal(r.n, r.promptTokens + r.generated.length);
  });

  it('refuses an encoder, and a prompt that leaves no room, with clear messages', async () => {
    await assert.rejects(
      engine.generate({ ...params('bert-tiny'), text: SENTENCE }),
      (e: { code: string; message: string }) => e.code === 'bad-input' && /not a causal language model/.test(e.message),
    );
    await assert.rejects(
      engine.generate({ ...params('gpt2-tiny'), maxNewTokens: 500 }),
      (e: { code: string; message: string }) => e.code === 'bad-input' && /exceeds the 128/.test(e.message),
    );
  });
});
