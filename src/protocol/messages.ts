// The one protocol shared by the extension host, the engine worker and the webview.
// No 'vscode', no DOM, no Node imports here: all three runtimes compile this file.

/** Encoder (bidirectional) or causal (decoder, masked upper triangle). */
export type ModelKind = 'encoder' | 'causal';

import type { Dtype, DtypeChoice } from './dtypes';

export type { Dtype, DtypeChoice } from './dtypes';

/** One token of the analysed text; offsets are UTF-16 indices into the analysed text, null for added special tokens. */
export interface TokenInfo {
  text: string;
  id: number;
  start: number | null;
  end: number | null;
  special: boolean;
  /** True for a token the model generated (it has no place in the source text). */
  generated?: boolean;
}

/** One of the most likely next tokens. */
export interface NextToken {
  id: number;
  text: string;
  p: number;
}

/** How the engine continues a prompt. */
export interface GenerateParams extends AnalyzeParams {
  maxNewTokens: number;
  temperature?: number;
  topK?: number;
  seed?: number;
  /** Texts that end the continuation once the generated text contains one (besides the model's end of sequence). */
  stopSequences?: string[];
  /** The head whose matrix the panel grows row by row while the model writes (LiveRowsEvent). */
  watch?: { layer: number; head: HeadSelector };
}

/** The logit lens at one token: per layer (first to last), the top next tokens; or why the graph allows none. */
export interface LogitLensReply {
  analysisId: number;
  index: number;
  layers?: NextToken[][];
  unavailable?: string;
}

/** The three families of attention in an encoder–decoder. */
export type AttentionFamily = 'encoder' | 'decoder' | 'cross';

/** Translate (or read a given translation of) a source text with an encoder–decoder model. */
export interface Seq2SeqParams {
  model: string;
  dtype: DtypeChoice;
  text: string;
  /** The translation to read (teacher forcing); without it the model generates greedily. */
  target?: string;
  maxNewTokens?: number;
  /** Prepend the model's own task prefix (T5's "translate English to German: ") when it has one. Default true. */
  usePrefix?: boolean;
  /**
   * For many-to-many translators (M2M100, NLLB, mBART-50): the source and target language codes as the model spells
   * them ("en" or "__en__", "eng_Latn", "en_XX"). Empty or absent: English → French. Single-pair models ignore them.
   */
  sourceLanguage?: string;
  targetLanguage?: string;
  remoteHost?: string;
  cacheDir?: string;
  allowRemote?: boolean;
  modelMemoryLimit?: number;
}

/** One decoder input token; generated ones carry the top 5 of the distribution they were drawn from. */
export interface TargetToken {
  text: string;
  id: number;
  special: boolean;
  topk?: NextToken[];
}

/** An encoder–decoder analysis: source tokens (encoder), target tokens (decoder rows), three families of maps. */
export interface Seq2SeqReply {
  analysisId: number;
  model: {
    id: string;
    kind: 'encoder-decoder';
    modelType: string;
    layers: { encoder: number; decoder: number };
    heads: { encoder: number[]; decoder: number[] };
    maxPositions: number;
    dtype: Dtype;
  };
  /** The source as the encoder read it (with the task prefix, when one was added). */
  tokens: TokenInfo[];
  /** Exactly the decoder's input ids: one per row of the decoder and cross maps. */
  targetTokens: TargetToken[];
  /** The target as text (special tokens left out). */
  translation: string;
  generated: boolean;
  prefix?: string;
  /** For many-to-many translators: the languages used and every code the model knows. */
  languages?: { source: string; target: string; available: string[] };
  timings: { loadMs: number; forwardMs: number };
}

/** One map of an encoder–decoder analysis: rows × cols float32 (cross: target × source). */
export interface FamilySliceReply {
  analysisId: number;
  family: AttentionFamily;
  layer: number;
  /** A head, the mean / max of the layer's heads, or (self-attention families) the rollout through the layer. */
  head: HeadSelector;
  rows: number;
  cols: number;
  buffer: ArrayBuffer;
}

/** Why a continuation ended: the token limit, the model's end of sequence, a stop sequence, or the user. */
export type StopReason = 'length' | 'eos' | 'stop-sequence' | 'cancelled';

/** An analysis of prompt + continuation, with what the model expected at every position. */
export interface GenerateReply extends AnalysisSummary {
  promptTokens: number;
  /** The generated tokens, each with the top 5 of the distribution it was drawn from. */
  generated: { id: number; text: string; topk: NextToken[] }[];
  /** Per position: the top 5 next tokens the model expected after it. */
  expected: NextToken[][];
  /** True when the KV cache was used (one token's rows per step). */
  cached: boolean;
  stoppedBy: StopReason;
  /** The stop sequence that ended it (Insert leaves it out). */
  stopSequence?: string;
}

/** What the engine knows about the loaded model. */
export interface ModelInfo {
  id: string;
  kind: ModelKind;
  modelType: string;
  layers: number;
  heads: number[];
  maxPositions: number;
  hiddenSize: number;
  /** The dtype actually loaded (`auto` resolved). */
  dtype: Dtype;
  /** Key/value heads per layer (fewer than `heads` under grouped-query attention; equal otherwise). */
  kvHeads: number[];
  /** The op each layer's maps come from (Softmax, GroupQueryAttention, MultiHeadAttention, Attention). */
  attentionOps: string[];
}

/** The reply to an analysis: everything but the attention numbers, which stay in the worker. */
export interface AnalysisSummary {
  analysisId: number;
  model: ModelInfo;
  tokens: TokenInfo[];
  /** Number of tokens (the side of each N×N matrix). */
  n: number;
  /** True when the text was longer than the model's positions and only its first part was analysed. */
  truncated: boolean;
  /** Where the analysed part starts in the text (UTF-16 offset; 0 unless a window around the cursor was asked for). */
  analysedFrom: number;
  /** Where the analysed part ends in the text (UTF-16 offset). */
  analysedChars: number;
  totalChars: number;
  timings: { loadMs: number; tokenizeMs: number; forwardMs: number };
  /**
   * A long analysis (see long-surgery.ts): no full maps are kept. The panel draws block-max overviews (⌈N/block⌉
   * cells a side), the attention each token receives, and exact rows and tiles recomputed on demand.
   */
  long?: LongInfo;
}

/** How a long analysis is kept. */
export interface LongInfo {
  /** Tokens per overview cell side. */
  block: number;
  /** Overview cells per side. */
  size: number;
  /** Bytes the engine keeps for it, and what all full maps (L·H·N²·4) would have taken. */
  keptBytes: number;
  fullBytes: number;
}

/** A head index, an aggregate over the heads of a layer, or the attention rollout through that layer. */
export type HeadSelector = number | 'mean' | 'max' | 'rollout';

/** What to rank heads by: attention from one token to another, or a preset naming a common head type. */
export type RankBy =
  | { kind: 'pair'; query: number; key: number }
  | { kind: 'previous' }
  | { kind: 'first' }
  | { kind: 'self' };

/** One head's score in a ranking. */
export interface HeadScore {
  layer: number;
  head: number;
  weight: number;
}

/** In one analysis: a query token and the two candidate keys it chooses between (token indices). */
export interface ComparePick {
  analysisId: number;
  query: number;
  key1: number;
  key2: number;
}

/** How much a head's choice between the two keys flips from text A to text B (the lesson's "it" example). */
export interface FlipScore {
  layer: number;
  head: number;
  /** (a(query→key1) − a(query→key2)) in A minus the same in B; heads are ranked by its size. */
  score: number;
  /** The difference in A and in B. */
  a: number;
  b: number;
}

/** Parameters of an analysis. */
export interface AnalyzeParams {
  model: string;
  dtype: DtypeChoice;
  text: string;
  maxTokens?: number;
  /** Largest size in bytes of all attention maps (L·H·N²·4) an analysis may hold; larger ones are refused. */
  maxAttentionBytes?: number;
  /** For text longer than the model reads at once: analyse the window of tokens around this UTF-16 offset instead of the start. */
  around?: number;
  remoteHost?: string;
  cacheDir?: string;
  allowRemote?: boolean;
  /** Bytes of memory a model may need to load (default: 80% of this machine's memory); tests lower it. */
  modelMemoryLimit?: number;
  /** Also cut this slice (and the thumbnails, when a size is given), so the panel's first paint needs no further round trip. */
  firstView?: { layer: number; head: HeadSelector; thumbnailSize?: number };
  /**
   * `full` keeps every map; `long` keeps reductions and recomputes exact rows (long-surgery.ts); `auto` (default)
   * goes long when the full maps would exceed `maxAttentionBytes` or N exceeds LONG_FROM_TOKENS.
   */
  mode?: 'auto' | 'full' | 'long';
}

/** Above this many tokens `auto` analyses are long ones (full maps grow as N²; 1,024² × 4 bytes is 4 MB per head). */
export const LONG_FROM_TOKENS = 1024;

/** The data of a panel's first paint: a full analysis's slice, or a long one's overview and received sums. */
export interface FirstView {
  slice?: SliceReply;
  overview?: OverviewReply;
  received?: ReceivedReply;
  thumbnails?: ThumbnailsReply;
}

/** An analysis with, when asked for, the data of its first paint. */
export interface AnalysisReply extends AnalysisSummary {
  first?: FirstView;
}

/** A block-max overview of one head (or the heads' mean / max) of a long analysis: size² float32, row-major. */
export interface OverviewReply {
  analysisId: number;
  layer: number;
  head: HeadSelector;
  block: number;
  size: number;
  n: number;
  buffer: ArrayBuffer;
}

/** How much attention each token receives (its column summed over queries): N float32. */
export interface ReceivedReply {
  analysisId: number;
  layer: number;
  head: HeadSelector;
  n: number;
  buffer: ArrayBuffer;
}

/** An exact tile of one head of a long analysis: queries [row, row + rows) × keys [col, col + cols), row-major. */
export interface TileReply {
  analysisId: number;
  layer: number;
  head: number;
  row: number;
  col: number;
  rows: number;
  cols: number;
  buffer: ArrayBuffer;
}

/** One N×N matrix, row-major, as an ArrayBuffer of float32 trimmed to exactly the slice. */
export interface SliceReply {
  analysisId: number;
  layer: number;
  head: HeadSelector;
  n: number;
  buffer: ArrayBuffer;
}

/** Most heads (layers × heads per layer) the thumbnail grid shows; bigger models get no grid (98,304 took 44 s and 3.7 GB). */
export const MAX_GRID_HEADS = 2048;

/** Downsampled previews of every layer × head: `size`×`size` float32 each, concatenated layer-major; size 0 (no data) over MAX_GRID_HEADS. */
export interface ThumbnailsReply {
  analysisId: number;
  size: number;
  heads: number[];
  buffer: ArrayBuffer;
}

/** Whether a focus token's distribution is what it pays (its row) or what it receives (its column). */
export type Direction = 'row' | 'column';

/** One token's row (or column) in every head of a layer: heads × N float32, head-major. */
export interface RowsReply {
  analysisId: number;
  layer: number;
  index: number;
  direction: Direction;
  heads: number;
  n: number;
  buffer: ArrayBuffer;
}

/** One elementwise step from q·k to the Softmax's input (the mask aside); `r…` ops take the value as right operand. */
export type RowStep = { op: 'mul' | 'div' | 'add' | 'sub' | 'rdiv' | 'rsub'; value: number } | { op: 'tanh' };

/** How a layer's scores become its weights: the steps, then the mask as which keys row i reads. */
export interface RowRecipe {
  steps: RowStep[];
  /** Row i reads keys up to i (else up to N − 1) … */
  causal: boolean;
  /** … from max(0, i − window + 1) (0: from key 0). */
  window: number;
}

/**
 * What a panel needs to compute a long analysis's exact rows of one layer itself (local-rows.ts), with no round
 * trip per hover: the queries and keys exactly as the layer's Q·Kᵀ reads them, and the recipe from scores to weights.
 * `unavailable` says why not (then the panel asks the engine for each row, as before).
 */
export interface LayerOperandsReply {
  analysisId: number;
  layer: number;
  heads: number;
  n: number;
  /** Values per query and key vector. */
  dim: number;
  /** Key heads: query head h reads key head ⌊h / (heads / keyHeads)⌋ (fewer under grouped-query attention). */
  keyHeads: number;
  recipe?: RowRecipe;
  /** How the engine checked the recipe when it made these: rows compared with its own, and the largest difference. */
  checked?: { rows: number; worst: number };
  unavailable?: string;
  /** heads × N × dim float32 (empty when unavailable). */
  q: ArrayBuffer;
  /** keyHeads × N × dim float32: each key a row, like the queries (empty when unavailable). */
  k: ArrayBuffer;
}

/** The engine's methods, as the worker serves them. */
export interface EngineApi {
  analyze(params: AnalyzeParams): AnalysisReply;
  /** Continues the text with a causal model and analyses prompt + continuation. */
  generate(params: GenerateParams): GenerateReply;
  /**
   * The logit lens at one token of a causal model's analysis: per layer, the top 5 next tokens when the final norm and
   * LM head read that layer's residual stream (the last layer's list is the model's own). `unavailable` says why not.
   */
  logitLens(params: { analysisId: number; index: number }): LogitLensReply;
  /** Encoder–decoder models: translates the source (or reads the given target) and keeps all three families. */
  seq2seq(params: Seq2SeqParams): Seq2SeqReply;
  /** Whether a model is an encoder–decoder (read from its config.json; the graph is not loaded). */
  isEncoderDecoder(params: { model: string; remoteHost?: string; cacheDir?: string; allowRemote?: boolean }): boolean;
  /** One map of an encoder–decoder analysis. */
  familySlice(params: {
    analysisId: number;
    family: AttentionFamily;
    layer: number;
    head: HeadSelector;
  }): FamilySliceReply;
  /** Ends a running generate after its current step; it replies with what was written so far. Served at once. */
  stopGenerating(params: Record<string, never>): { stopping: boolean };
  slice(params: { analysisId: number; layer: number; head: HeadSelector }): SliceReply;
  thumbnails(params: { analysisId: number; size: number }): ThumbnailsReply;
  rows(params: { analysisId: number; layer: number; index: number; direction: Direction }): RowsReply;
  /** A long analysis's overview of one head (block: the kept one, or a multiple of it, or any side from exact rows). */
  overview(params: { analysisId: number; layer: number; head: HeadSelector; block?: number }): OverviewReply;
  /** A long analysis's received sums of one head (or the heads' mean / max). */
  received(params: { analysisId: number; layer: number; head: HeadSelector }): ReceivedReply;
  /** An exact tile of a long analysis (size ≤ 1,024). */
  tile(params: { analysisId: number; layer: number; head: number; row: number; col: number; size: number }): TileReply;
  /** A long analysis's layer operands, for exact rows computed in the panel. */
  layerOperands(params: { analysisId: number; layer: number }): LayerOperandsReply;
  countTokens(params: {
    model: string;
    dtype: DtypeChoice;
    text: string;
    allowRemote?: boolean;
    cacheDir?: string;
    remoteHost?: string;
  }): {
    count: number;
    maxPositions: number;
    layers: number;
    heads: number[];
    hiddenSize: number;
    /** An encoder–decoder: its attention comes in three families (the status bar explains their costs). */
    encoderDecoder?: boolean;
  };
  release(params: { analysisId: number }): { released: boolean };
  rankHeads(params: { analysisId: number; by: RankBy }): { heads: HeadScore[] };
  /** Ranks every head by how much its choice between two keys flips from one analysed text to another. */
  compareHeads(params: { a: ComparePick; b: ComparePick }): { heads: FlipScore[] };
  /** Writes the analysis as attention JSON (the CLI's shape) to a file the user chose, streaming one matrix at a time. */
  exportJson(params: {
    analysisId: number;
    path: string;
    scope: 'view' | 'all';
    layer: number;
    head: HeadSelector;
    source: string;
  }): { bytes: number };
}

/** Error codes every side can branch on. */
export type EngineErrorCode =
  | 'fused-attention'
  | 'no-attention-softmax'
  | 'model-not-found'
  | 'bad-model'
  | 'bad-input'
  | 'over-budget'
  | 'unknown-analysis'
  | 'cancelled'
  | 'timeout'
  | 'worker-died'
  | 'offline'
  | 'internal';

/** An error as plain data, so it crosses threads and processes intact. */
export interface ErrorData {
  code: EngineErrorCode;
  message: string;
  details?: string;
}

/** A request to a method of an API. */
export type RequestMessage<Api, K extends keyof Api = keyof Api> = K extends keyof Api
  ? { kind: 'request'; id: number; method: K; params: Api[K] extends (p: infer P) => unknown ? P : never }
  : never;

/** Download progress of one model file, sent while a request that loads a model runs. */
export interface DownloadProgress {
  file: string;
  loaded: number;
  /** 0 when the server did not say. */
  total: number;
}

/** A token the model just generated (Continue and Show Attention streams them). */
export interface GeneratedTokenEvent {
  token: { id: number; text: string };
  /** 0 for the first generated token. */
  index: number;
}

/**
 * Rows [from, to) of the watched head's matrix while the model writes: row q holds q + 1 weights (causal), padded
 * with zeros to `to` columns. The first event carries the prompt's rows and tokens; then one row per new token.
 */
export interface LiveRowsEvent {
  live: {
    layer: number;
    head: HeadSelector;
    from: number;
    to: number;
    /** (to − from) × to float32. */
    buffer: ArrayBuffer;
    /** With the prompt's rows: the prompt's tokens. */
    tokens?: TokenInfo[];
  };
}

/** Something that happened while a request runs: download progress, a generated token, or its attention rows. */
export type EngineEvent = DownloadProgress | GeneratedTokenEvent | LiveRowsEvent;

/** A reply: the result or an error, as data; or an event about a request still running. */
export type ReplyMessage =
  | { kind: 'reply'; id: number; ok: true; result: unknown }
  | { kind: 'reply'; id: number; ok: false; error: ErrorData }
  | { kind: 'event'; id: number; event: EngineEvent };

/** Messages the host sends to the webview. */
export type ToWebview =
  | { type: 'loading'; text: string; title: string }
  /** Continue and Show Attention: the text generated so far, while the model writes. */
  | { type: 'generating'; text: string; token: { text: string; index: number } }
  /** Continue and Show Attention: the watched head's newest rows, so the matrix grows as the model writes. */
  | { type: 'liveRows'; live: LiveRowsEvent['live'] }
  | {
      type: 'analysis';
      /** A GenerateReply after Continue and Show Attention. */
      summary: AnalysisSummary | GenerateReply;
      sourceLabel: string;
      sourceText?: string;
      first?: FirstView;
      /** Date.now() in the extension host when the command started (the panel measures to its first paint). */
      startedAt?: number;
      /** Date.now() in the extension host when the engine's reply arrived (splits that time: engine, then panel). */
      repliedAt?: number;
    }
  /** An encoder–decoder analysis: source and target tokens; the panel asks for the families' maps. */
  | { type: 'seq2seq'; reply: Seq2SeqReply; sourceLabel: string }
  | { type: 'focusFromEditor'; index: number }
  | { type: 'notice'; text: string }
  | { type: 'lockToken'; index: number }
  | { type: 'nextHead' }
  | { type: 'error'; message: string }
  /** A run failed or was cancelled: what is on screen belongs to an earlier text (greyed), with the ways forward. */
  | { type: 'runFailed'; title: string; message: string; actions: PanelAction[] }
  /** Heads ranked by how much they flip between two texts (Compare Two Texts), shown in the head search. */
  | { type: 'comparison'; title: string; heads: FlipScore[] };

/**
 * What the webview may ask of the host: a subset of the engine's API, called with the same request/reply dialect
 * (ids, errors as data, timeouts). The host validates every request against the analysis on display, then forwards it.
 */
export type PanelApi = Pick<
  EngineApi,
  | 'slice'
  | 'rows'
  | 'thumbnails'
  | 'rankHeads'
  | 'logitLens'
  | 'familySlice'
  | 'overview'
  | 'received'
  | 'tile'
  | 'layerOperands'
>;

/** Everything the host posts to the webview: notifications, and replies to the webview's requests. */
export type HostToWebview = ToWebview | ReplyMessage;

/** A way forward the panel's error box offers; the host runs it. */
export type PanelAction = 'selectModel' | 'openSettings' | 'showLog' | 'retry' | 'insertContinuation' | 'continue';

/** Messages the webview sends to the host: notifications, and requests of the panel API. */
export type WebviewToHost = FromWebview | RequestMessage<PanelApi>;

/** Notifications the webview sends to the host. */
export type FromWebview =
  | { type: 'ready' }
  /** The view on screen changed (the webview owns it; the host brings this view's slice with the next analysis). */
  | { type: 'view'; layer: number; head: HeadSelector }
  | { type: 'focusToken'; index: number | null; weights?: number[]; weightsBuffer?: ArrayBuffer }
  | { type: 'exportPng'; dataUrl: string }
  | { type: 'exportJson'; analysisId: number; layer: number; head: HeadSelector }
  /** Export JSON of the encoder–decoder analysis on display (the family, layer and head on screen). */
  | {
      type: 'exportSeq2SeqJson';
      analysisId: number;
      family: AttentionFamily;
      layer: number;
      head: HeadSelector;
    }
  | { type: 'action'; action: PanelAction };
