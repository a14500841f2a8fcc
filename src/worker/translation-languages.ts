// Many-to-many translators (M2M100, NLLB, mBART-50) read the source language as their first source token and are
// told the target language by forcing it as the first generated token. transformers.js's tokenizers for them know
// their language codes and how to set both (`_build_translation_inputs`, what its translation pipeline calls); this
// file picks the codes and applies them through it, so the source template and the forced token are the library's.
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { EngineError } from '../protocol/rpc';

interface TranslationTokenizer {
  language_codes?: string[];
  _build_translation_inputs?(text: string, options: object, kwargs: Record<string, unknown>): unknown;
}

export interface Languages {
  source: string;
  target: string;
  available: string[];
  /** The target language's token, forced as the first generated one. */
  forcedBos: number;
}

/** English → French (the lesson's example) unless the user chose: the first code of each language the model has. */
const DEFAULTS = { source: /^(en|eng|en_[A-Z]+|eng_[A-Z][a-z]+)$/, target: /^(fr|fra|fr_[A-Z]+|fra_[A-Z][a-z]+)$/ };

/** The languages a tokenizer translates between, or undefined for single-pair models (T5, Marian, BART). */
export function languageCodes(tokenizer: PreTrainedTokenizer): string[] | undefined {
  const codes = (tokenizer as unknown as TranslationTokenizer).language_codes;
  return Array.isArray(codes) && codes.length > 0 ? codes : undefined;
}

/**
 * Resolves and applies the source and target languages for the next source to encode; undefined when the model
 * has no language codes. A code may be given with or without M2M100's underscores ("fr" or "__fr__").
 */
export function applyLanguages(
  tokenizer: PreTrainedTokenizer,
  wanted: { sourceLanguage?: string; targetLanguage?: string },
): Languages | undefined {
  const available = languageCodes(tokenizer);
  if (!available) return undefined;
  const pick = (side: 'source' | 'target', value: string | undefined, fallback: number): string => {
    const asked = (value ?? '').trim().replace(/^__(.*)__$/, '$1');
    if (!asked)
      return available.find((c) => DEFAULTS[side].test(c)) ?? available[Math.min(fallback, available.length - 1)];
    const found = available.find((c) => c === asked) ?? available.find((c) => c.toLowerCase() === asked.toLowerCase());
    if (found) return found;
    const shown = available.slice(0, 12).join(', ');
    const more = available.length > 12 ? `, … (${available.length} in all)` : '';
    throw new EngineError(
      'bad-input',
      `"${value}" is not a ${side} language this model knows (attentionLens.${side}Language); it knows ${shown}${more}.`,
    );
  };
  const source = pick('source', wanted.sourceLanguage, 0);
  const target = pick('target', wanted.targetLanguage, 1);
  const kwargs: Record<string, unknown> = { src_lang: source, tgt_lang: target };
  const t = tokenizer as unknown as TranslationTokenizer;
  if (typeof t._build_translation_inputs !== 'function')
    throw new EngineError('bad-model', 'this tokenizer lists languages but cannot set them.');
  // Sets the source language in the tokenizer's template and returns the target's token in the kwargs.
  t._build_translation_inputs('', {}, kwargs);
  const forcedBos = kwargs.forced_bos_token_id;
  if (typeof forcedBos !== 'number') throw new EngineError('bad-model', `no token for the language ${target}.`);
  return { source, target, available, forcedBos };
}
