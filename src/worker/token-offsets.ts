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

/** How far ahead (in normalised characters) a piece may be found after the cursor; farther means it is not there. */
const LOOKAHEAD = 16;

/**
 * The text normalised one code point at a time, with each normalised char's source span. Word markers ("▁") become
 * spaces, which the aligner skips.
 */
function normalizeWithMap(text: string, normalize: (s: string) => string, metaspace: string | undefined) {
  const one = codePointNormalizer(normalize, metaspace);
  let norm = '';
  const from: number[] = [];
  const to: number[] = [];
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    const piece = one(text.slice(i, i + units));
    for (let k = 0; k < piece.length; k++) {
      from.push(i);
      to.push(i + units);
    }
    norm += piece;
    i += units;
  }
  return { norm, from, to };
}

/**
 * Normalises one code point as the tokenizer would, word markers as spaces. A normaliser that prepends (Llama's
 * Prepend "▁") would put its prefix before every code point: it is taken off each.
 */
function codePointNormalizer(normalize: (s: string) => string, metaspace: string | undefined): (s: string) => string {
  const probe = normalize('x');
  const prefix = probe.length > 1 && probe.endsWith('x') ? probe.slice(0, -1) : '';
  return (ch) => {
    let s = normalize(ch);
    if (prefix && s.startsWith(prefix)) s = s.slice(prefix.length);
    return metaspace ? s.split(metaspace).join(' ') : s;
  };
}

/** `<0x0A>`-style byte-fallback pieces (SentencePiece): the byte, else undefined. */
function fallbackByte(token: string): number | undefined {
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
  return m ? Number.parseInt(m[1], 16) : undefined;
}

/** A piece's text as it appears in the normalised input: no continuation prefix, word markers as spaces, trimmed. */
function surfaceOf(piece: PieceToAlign, rules: AlignmentRules): string {
  let s = piece.token;
  if (
    rules.continuationPrefix &&
    s.startsWith(rules.continuationPrefix) &&
    s.length > rules.continuationPrefix.length
  ) {
    s = s.slice(rules.continuationPrefix.length);
  }
  s = rules.normalize(s);
  if (rules.metaspace) s = s.split(rules.metaspace).join(' ');
  // A piece that is only a word marker ("▁") stands for one space.
  return s.trim() || (s.length > 0 ? ' ' : '');
}

/**
 * The surfaces of the pieces: normalised text, '' for special and unknown pieces, and for runs of byte-fallback
 * pieces the character their bytes spell (every piece of a multi-byte character gets that character).
 */
function surfacesOf(pieces: PieceToAlign[], rules: AlignmentRules): { surface: string; byte: boolean }[] {
  const out = pieces.map((p) => ({ surface: p.special || p.unknown ? '' : surfaceOf(p, rules), byte: false }));
  for (let i = 0; i < pieces.length; ) {
    if (pieces[i].special || fallbackByte(pieces[i].token) === undefined) {
      i++;
      continue;
    }
    const first = fallbackByte(pieces[i].token)!;
    const len = first < 0x80 ? 1 : first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
    const bytes: number[] = [];
    for (let k = 0; k < len && i + k < pieces.length; k++) {
      const b = pieces[i + k].special ? undefined : fallbackByte(pieces[i + k].token);
      if (b === undefined) break;
      bytes.push(b);
    }
    const ch = bytes.length === len ? new TextDecoder('utf-8', { fatal: false }).decode(new Uint8Array(bytes)) : '';
    const surface = ch && !ch.includes('\uFFFD') ? codePointNormalizer(rules.normalize, rules.metaspace)(ch) : '';
    for (let k = 0; k < Math.max(1, bytes.length); k++) out[i + k] = { surface, byte: true };
    i += Math.max(1, bytes.length);
  }
  return out;
}

/**
 * Places non-byte-level tokens (WordPiece, SentencePiece BPE and Unigram) in the text. Each piece must match right
 * at the cursor, after skipping whitespace it does not itself start with, or within a short look-ahead; what is
 * skipped to reach it belongs to the unknown pieces before it. A piece that cannot be placed gets no offsets and the
 * cursor stays, so one odd piece never throws the rest off (it used to jump to a far occurrence and never recover).
 */
function alignNormalized(text: string, pieces: PieceToAlign[], rules: AlignmentRules): Span[] {
  const { norm, from, to } = normalizeWithMap(text, rules.normalize, rules.metaspace);
  const isSpace = (i: number) => /\s/.test(norm[i]);
  const surfaces = surfacesOf(pieces, rules);
  const spans: Span[] = pieces.map(() => ({ start: null, end: null }));
  const span = (a: number, b: number): Span => ({ start: from[a], end: to[b - 1] });
  let cursor = 0;
  /** Unknown pieces waiting for the next placed piece to say where they end. */
  let unknown: number[] = [];
  let unknownFrom = 0;
  const settleUnknown = (end: number) => {
    if (unknown.length === 0) return;
    let a = unknownFrom;
    let b = end;
    // Trim whitespace around the unknown text, unless whitespace is all it is (SentencePiece's unknown newline).
    let ta = a;
    let tb = b;
    while (ta < tb && isSpace(ta)) ta++;
    while (tb > ta && isSpace(tb - 1)) tb--;
    if (tb > ta) [a, b] = [ta, tb];
    if (b > a) {
      // Consecutive unknown pieces share the text: one code point each, the last takes the rest.
      let at = a;
      unknown.forEach((t, k) => {
        if (at >= b) return;
        let next = k === unknown.length - 1 ? b : at + 1;
        while (next < b && from[next] === from[at]) next++;
        spans[t] = span(at, next);
        at = next;
      });
    }
    unknown = [];
  };
  let prevByteGroup: { surface: string; at: number; end: number } | undefined;
  pieces.forEach((piece, t) => {
    if (piece.special) {
      const lit = rules.normalize(piece.token);
      let at = cursor;
      while (at < norm.length && isSpace(at)) at++;
      if (lit && norm.startsWith(lit, at)) {
        settleUnknown(at);
        cursor = at + lit.length;
      }
      return;
    }
    if (piece.unknown) {
      if (unknown.length === 0) unknownFrom = cursor;
      unknown.push(t);
      return;
    }
    const { surface, byte } = surfaces[t];
    if (!surface) return;
    // The later bytes of a multi-byte character share its span.
    if (
      byte &&
      t > 0 &&
      surfaces[t - 1].byte &&
      surfaces[t - 1].surface === surface &&
      prevByteGroup &&
      prevByteGroup.end === cursor &&
      pieces[t - 1].token !== piece.token
    ) {
      spans[t] = span(prevByteGroup.at, prevByteGroup.end);
      return;
    }
    let at = cursor;
    while (at < norm.length && isSpace(at) && norm[at] !== surface[0]) at++;
    if (!norm.startsWith(surface, at)) {
      const found = norm.indexOf(surface, at);
      at = found >= 0 && found - at <= LOOKAHEAD && unknown.length + 1 > 0 ? found : -1;
      // Without an unknown piece before it, a skip over real text would mean the piece is not where we are.
      if (at >= 0 && unknown.length === 0 && norm.slice(cursor, at).trim().length > 0) at = -1;
    }
    if (at < 0) return;
    settleUnknown(at);
    spans[t] = span(at, at + surface.length);
    prevByteGroup = byte ? { surface, at, end: at + surface.length } : undefined;
    cursor = at + surface.length;
  });
  settleUnknown(norm.length);
  return spans;
}
