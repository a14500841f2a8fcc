import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTextSide } from '../../src/worker/model-runner';
import { TokenCounter, chunkText } from '../../src/worker/token-counter';
import { encode } from '../../src/worker/tokenize';
import { FIXTURES, SENTENCE } from './fixtures';

/** ~200 KB of mixed text: prose, code, blank lines, CRLF, indentation, emoji, CJK, long runs of spaces. */
function bigText(): string {
  const parts = [
    readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8'),
    readFileSync(join(__dirname, '..', '..', 'src', 'worker', 'engine.ts'), 'utf8'),
    `${SENTENCE}\r\n\r\n   indented line\n\n\n日本語のテキスト 👩‍👩‍👧 café\n\t\ttabs\n${' '.repeat(40)}spaces\n`,
    // Whitespace right before a line start: the case that made cutting after the newline inexact.
    'trailing spaces  \nnext line\t\nafter a tab \r\nafter CRLF\n\nafter a blank line\n',
  ];
  let text = '';
  for (let i = 0; text.length < 200_000; i++) text += parts[i % parts.length];
  return text;
}

describe('token counter: chunked counts equal whole-text counts', function () {
  this.timeout(60_000);
  const text = bigText();

  it('cuts only before a newline that precedes a non-space, and loses nothing', () => {
    const chunks = chunkText(text, 4096);
    assert.ok(chunks.length > 20);
    assert.equal(chunks.join(''), text);
    for (const c of chunks.slice(1))
      assert.ok(/^\n\S/.test(c), 'each later chunk starts with a newline and a non-space');
  });

  for (const folder of ['bert-tiny', 'gpt2-tiny']) {
    it(`${folder}: the count of a 200 KB text, and after an edit, equals the tokenizer's own`, async () => {
      const { tokenizer } = await loadTextSide(join(FIXTURES, folder));
      const counter = new TokenCounter(tokenizer, true);
      const whole = encode(tokenizer, text).length;
      assert.equal(counter.count(text), whole);
      // Small chunks put hundreds of cuts in every kind of line ending and indentation.
      assert.equal(new TokenCounter(tokenizer, true, 500).count(text), whole);
      const edited = `${text.slice(0, 100_000)}inserted words, here${text.slice(100_000)}`;
      assert.equal(counter.count(edited), encode(tokenizer, edited).length);
      assert.equal(counter.count(SENTENCE), encode(tokenizer, SENTENCE).length);
    });
  }
});
