// Hostile text and broken model folders: each gets the engine's typed error with a clear message, or a
// correct analysis; nothing crashes or hangs. (The README's "what happens when…" table lists these.)
import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/worker/engine';
import { FIXTURES, SENTENCE } from './fixtures';

const TEXTS: [string, string][] = [
  ['NUL bytes and control characters', 'it\u0000was\u0007 too\u001b[31m tired\r\n\f.'],
  ['lone surrogates', 'the \ud800 animal \udfff was tired'],
  ['emoji ZWJ sequences and flags', 'the family 👩‍👩‍👧‍👦 flew 🇯🇵 to 🏳️‍🌈 parades'],
  ['CJK', '猫はとても疲れていたので道を渡らなかった。'],
  ['RTL with bidi override characters', 'the \u202eanimal\u202c crossed שלום עולם \u2067مرحبا\u2069'],
  ['combining marks', 'cafe\u0301 nai\u0308ve Z\u0351\u0327a\u0310\u0300l\u036bg\u0317o'],
  ['one 10,000-character word', 'x'.repeat(10_000)],
  ['a 1 MB text', `${SENTENCE} `.repeat(Math.ceil(2 ** 20 / (SENTENCE.length + 1)))],
];

describe('bad input and faults', function () {
  this.timeout(60_000);
  const engine = new Engine();
  after(() => engine.dispose());

  for (const folder of ['bert-tiny', 'gpt2-tiny']) {
    for (const [what, text] of TEXTS) {
      it(`${folder}: ${what} -> a valid analysis with offsets inside the text`, async () => {
        const s = await engine.analyze({ model: join(FIXTURES, folder), dtype: 'fp32', text, allowRemote: false });
        assert.ok(s.n >= 2 && s.n <= s.model.maxPositions);
        let last = 0;
        for (const t of s.tokens) {
          if (t.start === null || t.end === null) continue;
          assert.ok(
            t.start >= last && t.end > t.start && t.end <= text.length,
            `${JSON.stringify(t)} in ${text.length}`,
          );
          last = t.start;
        }
        const m = new Float32Array((await engine.slice({ analysisId: s.analysisId, layer: 1, head: 0 })).buffer);
        for (let i = 0; i < s.n; i++) {
          const sum = m.subarray(i * s.n, (i + 1) * s.n).reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(sum - 1) < 1e-4 && Number.isFinite(sum), `row ${i} sums to ${sum}`);
        }
      });
    }
  }

  describe('broken model folders', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'al-bad-'));
      cpSync(join(FIXTURES, 'bert-tiny'), dir, { recursive: true });
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const fails = async (code: string, pattern: RegExp) => {
      const fresh = new Engine();
      try {
        await assert.rejects(
          fresh.analyze({ model: dir, dtype: 'fp32', text: SENTENCE, allowRemote: false }),
          (e: { code: string; message: string }) => {
            assert.equal(e.code, code, e.message);
            assert.match(e.message, pattern);
            return true;
          },
        );
      } finally {
        await fresh.dispose();
      }
    };

    it('a truncated .onnx', async () => {
      const f = join(dir, 'onnx', 'model.onnx');
      writeFileSync(f, readFileSync(f).subarray(0, 100_000));
      await fails('bad-model', /could not be parsed|truncated or corrupt/);
    });

    it('a corrupt .onnx', async () => {
      writeFileSync(
        join(dir, 'onnx', 'model.onnx'),
        Buffer.from('this is not a protobuf at all, just text'.repeat(100)),
      );
      await fails('bad-model', /could not be parsed|corrupt|no graph/);
    });

    it('a missing tokenizer.json', async () => {
      rmSync(join(dir, 'tokenizer.json'));
      await fails('bad-model', /tokenizer/i);
    });

    it('a config.json that is not JSON', async () => {
      writeFileSync(join(dir, 'config.json'), '{ "model_type": "bert", oops');
      await fails('bad-model', /config\.json/);
    });

    it('a model too big for this machine is refused before loading, with the estimate', async () => {
      const fresh = new Engine();
      try {
        await assert.rejects(
          fresh.analyze({ model: dir, dtype: 'fp32', text: SENTENCE, allowRemote: false, modelMemoryLimit: 1_000_000 }),
          (e: { code: string; message: string }) =>
            e.code === 'over-budget' && /too big to load.*needs about [0-9.]+ [KMG]iB/.test(e.message),
        );
      } finally {
        await fresh.dispose();
      }
    });
  });

  it('attention maps over the memory budget are refused with their computed size', async () => {
    const params = {
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32' as const,
      text: SENTENCE,
      allowRemote: false,
      maxAttentionBytes: 1000,
    };
    await assert.rejects(
      engine.analyze({ ...params, mode: 'full' }),
      (e: { code: string; message: string }) =>
        e.code === 'over-budget' && /16 tokens would take [0-9.]+ KiB .*over the 1000 B budget/.test(e.message),
    );
    // By default full maps over the budget make a long analysis, and the budget limits what that keeps.
    await assert.rejects(
      engine.analyze(params),
      (e: { code: string; message: string }) =>
        e.code === 'over-budget' &&
        /long analysis of 16 tokens keeps about [0-9.]+ KiB .*over the 1000 B budget/.test(e.message),
    );
  });
});
