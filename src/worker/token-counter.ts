// Exact token counts of big documents that stay cheap while the user types: the text is cut into chunks
// at line starts and each chunk's count is cached by its content, so an edit recounts one chunk, not 1 MB.
import type { PreTrainedTokenizer } from '@huggingface/transformers';

/** Characters per chunk (a chunk ends at the first safe boundary after this many). */
const CHUNK_CHARS = 16_384;
/** Chunks remembered per tokenizer (≈ 8 MB of text). */
const CACHE_CHUNKS = 512;

function countIds(tokenizer: PreTrainedTokenizer, text: string, special: boolean): number {
  const encoded = tokenizer(text, { add_special_tokens: special }) as unknown as {
    input_ids: { data: ArrayLike<unknown> };
  };
  return encoded.input_ids.data.length;
}

/**
 * Cut points where tokenisation cannot cross: just before a newline that is followed by a non-whitespace
 * character. WordPiece splits on whitespace; byte-level BPE's pre-tokenizer makes such a newline a piece of its
 * own whatever precedes it (spaces, a carriage return), so the count of the whole equals the sum over the pieces
 * (checked against whole-text counts on both tokenizers in the unit tests). Cutting after the newline would not
 * be exact: "a  \n" alone pre-tokenises as one run of whitespace, but as two inside "a  \nX".
 */
export function chunkText(text: string, size = CHUNK_CHARS): string[] {
  const out: string[] = [];
  let start = 0;
  while (text.length - start > size) {
    let cut = -1;
    for (let i = start + size; i < text.length - 1; i++) {
      if (text.charCodeAt(i) === 10 && !/\s/.test(text[i + 1])) {
        cut = i;
        break;
      }
    }
    if (cut < 0) break;
    out.push(text.slice(start, cut));
    start = cut;
  }
  out.push(text.slice(start));
  return out;
}

/** Counts tokens exactly as the model would see them (special tokens included). */
export class TokenCounter {
  private readonly cache = new Map<string, number>();
  private readonly specials: number;

  /** `chunkable` is false for tokenizers whose pieces depend on the text start (SentencePiece's prefix space). */
  constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly chunkable: boolean,
    private readonly chunkChars = CHUNK_CHARS,
  ) {
    this.specials = countIds(tokenizer, 'a', true) - countIds(tokenizer, 'a', false);
  }

  /** The number of tokens of `text`, with the model's special tokens. */
  count(text: string): number {
    if (!this.chunkable || text.length <= this.chunkChars) return countIds(this.tokenizer, text, true);
    let total = this.specials;
    for (const chunk of chunkText(text, this.chunkChars)) {
      let c = this.cache.get(chunk);
      if (c === undefined) {
        c = countIds(this.tokenizer, chunk, false);
        if (this.cache.size >= CACHE_CHUNKS) this.cache.delete(this.cache.keys().next().value as string);
      } else {
        this.cache.delete(chunk);
      }
      this.cache.set(chunk, c);
      total += c;
    }
    return total;
  }
}
