// Character offsets of tokens in the original text. transformers.js does not return offset mappings, so the
// engine aligns the tokens itself: byte-level BPE by UTF-8 bytes (exact), other tokenizers by matching
// each token's surface against the text normalised one code point at a time with the tokenizer's own normaliser.

/** How to align a tokenizer's tokens with its input text. */
export interface AlignmentRules {
  /** 'byte-level': tokens are GPT-2 byte-level strings; 'normalized': tokens are normalised text pieces. */
  mode: 'byte-level' | 'normalized';
  /** The tokenizer's normaliser (identity when it has none). */
  normalize(text: string): string;
  /** Prefix of continuation pieces, e.g. "##" for WordPiece. */
  continuationPrefix?: string;
  /** Word-boundary marker of SentencePiece/Metaspace tokenizers, e.g. "▁". */
  metaspace?: string;
}

/** One token to place: its vocabulary string, whether it is special, whether it is the unknown token. */
export interface PieceToAlign {
  token: string;
  special: boolean;
  unknown: boolean;
}

/** A token's UTF-16 span in the text, or nulls when it has none (added special tokens). */
export interface Span {
  start: number | null;
  end: number | null;
}

/** Aligns tokens to the text they came from. */
export function alignTokens(text: string, pieces: PieceToAlign[], rules: AlignmentRules): Span[] {
  return rules.mode === 'byte-level' ? alignBytes(text, pieces) : alignNormalized(text, pieces, rules);
}

let byteDecoder: Map<string, number> | undefined;

/** GPT-2's byte <-> printable character table, inverted. */
function getByteDecoder(): Map<string, number> {
  if (byteDecoder) return byteDecoder;
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  byteDecoder = new Map(bs.map((b, i) => [String.fromCharCode(cs[i]), b]));
  return byteDecoder;
}

function alignBytes(text: string, pieces: PieceToAlign[]): Span[] {
  const bytes = new TextEncoder().encode(text);
  // For every UTF-8 byte, the UTF-16 span of the code point it belongs to.
  const charStart = new Int32Array(bytes.length);
  const charEnd = new Int32Array(bytes.length);
  let b = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < len && b < bytes.length; k++, b++) {
      charStart[b] = i;
      charEnd[b] = i + units;
    }
    i += units;
  }
  const decoder = getByteDecoder();
  const utf8 = new TextEncoder();
  let cursor = 0;
  return pieces.map((piece) => {
    if (piece.special) {
      // A special token written literally in the text consumes its bytes.
      const lit = utf8.encode(piece.token);
      if (matchesAt(bytes, lit, cursor)) cursor += lit.length;
      return { start: null, end: null };
    }
    const tokenBytes = Array.from(piece.token, (ch) => decoder.get(ch) ?? -1);
    if (tokenBytes.length === 0 || cursor >= bytes.length) return { start: null, end: null };
    const first = cursor;
    cursor = Math.min(bytes.length, cursor + tokenBytes.length);
    return { start: charStart[first], end: charEnd[cursor - 1] };
  });
}

function matchesAt(hay: Uint8Array, needle: Uint8Array, at: number): boolean {
  if (needle.length === 0 || at + needle.length > hay.length) return false;
  for (let i = 0; i < needle.length; i++) if (hay[at + i] !== needle[i]) return false;
  return true;
}

/** The text normalised per code point, with each normalised char's source span. */
function normalizeWithMap(text: string, normalize: (s: string) => string) {
  let norm = '';
  const from: number[] = [];
  const to: number[] = [];
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    const piece = normalize(text.slice(i, i + units));
    for (let k = 0; k < piece.length; k++) {
      from.push(i);
      to.push(i + units);
    }
    norm += piece;
    i += units;
  }
  return { norm, from, to };
}

function surfaceOf(piece: PieceToAlign, rules: AlignmentRules): string {
  let s = piece.token;
  if (
    rules.continuationPrefix &&
    s.startsWith(rules.continuationPrefix) &&
    s.length > rules.continuationPrefix.length
  ) {
    s = s.slice(rules.continuationPrefix.length);
  }
  if (rules.metaspace) s = s.split(rules.metaspace).join(' ');
  return rules.normalize(s).trim();
}

function alignNormalized(text: string, pieces: PieceToAlign[], rules: AlignmentRules): Span[] {
  const { norm, from, to } = normalizeWithMap(text, rules.normalize);
  const isSpace = (i: number) => /\s/.test(norm[i]);
  const surfaces = pieces.map((p) => (p.special || p.unknown ? '' : surfaceOf(p, rules)));
  let cursor = 0;
  const spans: Span[] = [];
  pieces.forEach((piece, t) => {
    const span = (a: number, b: number): Span => ({ start: from[a], end: to[b - 1] });
    if (piece.special) {
      const lit = rules.normalize(piece.token);
      let at = cursor;
      while (at < norm.length && isSpace(at)) at++;
      if (lit && norm.startsWith(lit, at)) cursor = at + lit.length;
      spans.push({ start: null, end: null });
      return;
    }
    while (cursor < norm.length && isSpace(cursor)) cursor++;
    if (cursor >= norm.length) {
      spans.push({ start: null, end: null });
      return;
    }
    if (piece.unknown) {
      // The unknown token covers a whole pre-token: up to the next space or the next known piece.
      const next = surfaces.slice(t + 1).find((s) => s.length > 0);
      let end = cursor + 1;
      while (end < norm.length && !isSpace(end) && !(next && norm.startsWith(next, end))) end++;
      spans.push(span(cursor, end));
      cursor = end;
      return;
    }
    const surface = surfaces[t];
    const at = norm.startsWith(surface, cursor) ? cursor : norm.indexOf(surface, cursor);
    if (!surface || at < 0) {
      spans.push({ start: null, end: null });
      return;
    }
    spans.push(span(at, at + surface.length));
    cursor = at + surface.length;
  });
  return spans;
}
