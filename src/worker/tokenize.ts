// Tokenisation with transformers.js, plus the token strings, special flags and offsets the panel needs.
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import type { TokenInfo } from '../protocol/messages';
import { alignTokens, type AlignmentRules } from './token-offsets';

// transformers.js 4.x keeps the tokenizer.json machinery on `_tokenizer` / `_tokenizerJSON`; pinned in
// package.json and covered by the offset tests, so a change there shows up as a test failure.
interface TokenizerInternals {
  _tokenizerJSON?: {
    model?: { type?: string; continuing_subword_prefix?: string };
    normalizer?: unknown;
    decoder?: unknown;
    pre_tokenizer?: unknown;
  };
  _tokenizer?: {
    normalizer?: { normalize(text: string): string } | null;
    model?: { vocab?: string[] | Record<number, string>; unk_token_id?: number };
  };
}

function mentionsType(config: unknown, type: string): boolean {
  return JSON.stringify(config ?? null).includes(`"type":"${type}"`);
}

/** How to align this tokenizer's tokens with text. */
export function alignmentRules(tokenizer: PreTrainedTokenizer): AlignmentRules {
  const t = tokenizer as unknown as TokenizerInternals;
  const json = t._tokenizerJSON ?? {};
  const normalizer = t._tokenizer?.normalizer;
  const normalize = normalizer ? (s: string) => normalizer.normalize(s) : (s: string) => s;
  const byteLevel = mentionsType(json.decoder, 'ByteLevel') || mentionsType(json.pre_tokenizer, 'ByteLevel');
  return {
    mode: byteLevel ? 'byte-level' : 'normalized',
    normalize,
    continuationPrefix: json.model?.type === 'WordPiece' ? (json.model.continuing_subword_prefix ?? '##') : undefined,
    // SentencePiece's word marker: a Metaspace pre-tokenizer or decoder, or (Llama) a normaliser that writes "▁".
    metaspace:
      mentionsType(json.pre_tokenizer, 'Metaspace') ||
      mentionsType(json.decoder, 'Metaspace') ||
      JSON.stringify(json.normalizer ?? null).includes('\u2581') ||
      JSON.stringify(json.normalizer ?? null).includes('▁')
        ? '▁'
        : undefined,
  };
}

/** Token ids of `text` as the model would see them: with its special tokens unless `addSpecialTokens` is false. */
export function encode(tokenizer: PreTrainedTokenizer, text: string, addSpecialTokens = true): number[] {
  const encoded = tokenizer(text, { add_special_tokens: addSpecialTokens }) as unknown as {
    input_ids: { data: ArrayLike<bigint | number> };
  };
  return Array.from(encoded.input_ids.data, Number);
}

/** The vocabulary string of a token id. */
export function tokenString(tokenizer: PreTrainedTokenizer, id: number): string {
  const vocab = (tokenizer as unknown as TokenizerInternals)._tokenizer?.model?.vocab as
    | Record<number, string>
    | undefined;
  return vocab?.[id] ?? tokenizer.decode([id]);
}

/** Tokens with their ids, display text, special flags and offsets into `text`. */
export function describeTokens(tokenizer: PreTrainedTokenizer, text: string, ids: number[]): TokenInfo[] {
  const special = new Set<number>((tokenizer as unknown as { all_special_ids: number[] }).all_special_ids ?? []);
  const unk = (tokenizer as unknown as { unk_token_id?: number }).unk_token_id;
  // The unknown token is listed as special but stands for real text, so it gets offsets.
  const pieces = ids.map((id) => ({
    token: tokenString(tokenizer, id),
    special: special.has(id) && id !== unk,
    unknown: id === unk && unk !== undefined,
  }));
  const rules = alignmentRules(tokenizer);
  const spans = alignTokens(text, pieces, rules);
  return ids.map((id, i) => {
    const { start, end } = spans[i];
    const isSpecial = pieces[i].special;
    // Labels come from the source text; a token without offsets shows its decoded text, a special one its name.
    const display = isSpecial
      ? pieces[i].token
      : start === null || end === null
        ? tokenizer.decode([id]) || pieces[i].token
        : text.slice(start, end);
    return { text: display, id, start: isSpecial ? null : start, end: isSpecial ? null : end, special: isSpecial };
  });
}
