import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { describeTokens, encode } from '../../src/worker/tokenize';
import { FIXTURES } from './fixtures';

const texts: Record<string, string> = {
  ascii: "The animal didn't cross the street because it was too tired.",
  accented: 'Crème brûlée at the café, naïve façade — Ångström!',
  emoji: 'I love 🤗 and 👩‍👩‍👧 with 🇫🇷 flags 😀.',
  cjk: '日本語のテキスト and 中文 mixed',
  combining: 'e\u0301cole cafe\u0301 n\u0303 a\u0308 Zalgo Z\u0351\u0337a\u0350',
};

describe('token offsets round-trip', () => {
  before(() => {
    env.allowRemoteModels = false;
  });

  for (const [folder, byteLevel] of [
    ['bert-tiny', false],
    ['gpt2-tiny', true],
  ] as const) {
    describe(folder, () => {
      for (const [name, text] of Object.entries(texts)) {
        it(`${name}: text.slice(start, end) is each token's surface`, async () => {
          const tok = await AutoTokenizer.from_pretrained(join(FIXTURES, folder));
          const ids = encode(tok, text);
          const tokens = describeTokens(tok, text, ids);
          const normalize = (s: string) => {
            const n = (tok as unknown as { _tokenizer: { normalizer?: { normalize(s: string): string } } })._tokenizer
              .normalizer;
            return (n ? n.normalize(s) : s).trim();
          };
          let last = 0;
          let placed = 0;
          const bytes: number[] = [];
          for (const t of tokens) {
            if (t.special) {
              assert.equal(t.start, null);
              continue;
            }
            assert.ok(t.start !== null && t.end !== null, `token ${JSON.stringify(t)} has offsets`);
            assert.ok(
              t.start >= last - 4 && t.end > t.start && t.end <= text.length,
              `monotonic, in range: ${JSON.stringify(t)}`,
            );
            last = t.start;
            placed++;
            const piece = tok.decode([t.id]);
            if (byteLevel) {
              if (!piece.includes('\uFFFD'))
                assert.equal(text.slice(t.start, t.end), piece, `byte-level token ${t.id}`);
              bytes.push(...Buffer.from(piece.includes('\uFFFD') ? '' : piece));
            } else if (t.id !== 100) {
              assert.equal(
                normalize(text.slice(t.start, t.end)),
                normalize(piece.replace(/^##/, '')),
                `wordpiece token ${t.id}`,
              );
            }
          }
          assert.ok(placed > 0);
          const covered = tokens
            .filter((t) => !t.special)
            .map((t) => text.slice(t.start!, t.end!))
            .join('');
          if (byteLevel) {
            // Byte-level BPE loses nothing: consecutive spans rebuild the text (characters split over tokens repeat).
            assert.ok(covered.replace(/\s/g, '').length >= text.replace(/\s/g, '').length);
          }
        });
      }
    });
  }
});
