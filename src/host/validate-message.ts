// Validation of what the webview sends: it renders untrusted text, so the host trusts none of its messages.
import type {
  AnalysisSummary,
  HeadSelector,
  PanelApi,
  RequestMessage,
  Seq2SeqReply,
  WebviewToHost,
} from '../protocol/messages';

/** Checks a message from the webview before use: the webview renders untrusted text, so trust nothing it sends. */
export function validateFromWebview(
  m: unknown,
  summary: AnalysisSummary | undefined,
  seq2seq?: Seq2SeqReply,
): WebviewToHost | undefined {
  if (!m || typeof m !== 'object') return undefined;
  const msg = m as Record<string, unknown>;
  if (msg.kind === 'request' && msg.method === 'familySlice') return validateFamilySlice(msg, seq2seq);
  if (msg.kind === 'request') return validateRequest(msg, summary);
  const isInt = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < max;
  switch (msg.type) {
    case 'ready':
      return { type: 'ready' };
    case 'action':
      return msg.action === 'selectModel' ||
        msg.action === 'openSettings' ||
        msg.action === 'showLog' ||
        msg.action === 'retry' ||
        msg.action === 'insertContinuation' ||
        msg.action === 'continue'
        ? { type: 'action', action: msg.action }
        : undefined;
    case 'view':
      if (!summary || !isInt(msg.layer, summary.model.layers)) return undefined;
      return validHead(msg.head, msg.layer as number, summary)
        ? { type: 'view', layer: msg.layer as number, head: msg.head }
        : undefined;
    case 'exportPng':
      // A data URL of at most ~48 MB: a canvas of the panel, never a path or a command.
      return typeof msg.dataUrl === 'string' &&
        msg.dataUrl.startsWith('data:image/png;base64,') &&
        msg.dataUrl.length < 64_000_000
        ? { type: 'exportPng', dataUrl: msg.dataUrl }
        : undefined;
    case 'exportJson': {
      if (!summary || msg.analysisId !== summary.analysisId || !isInt(msg.layer, summary.model.layers))
        return undefined;
      const head = msg.head;
      return validHead(head, msg.layer as number, summary)
        ? { type: 'exportJson', analysisId: summary.analysisId, layer: msg.layer as number, head: head as HeadSelector }
        : undefined;
    }
    case 'exportSeq2SeqJson': {
      // The same checks as a familySlice request of the analysis on display.
      const request = validateFamilySlice({ kind: 'request', id: 0, params: msg }, seq2seq);
      if (request?.method !== 'familySlice') return undefined;
      const { analysisId, family, layer, head } = request.params;
      return { type: 'exportSeq2SeqJson', analysisId, family, layer, head };
    }
    case 'focusToken': {
      if (msg.index === null) return { type: 'focusToken', index: null };
      // An encoder–decoder analysis shades its source: weights over the source tokens.
      const n = summary?.n ?? seq2seq?.tokens.length;
      if (n === undefined || !isInt(msg.index, n)) return undefined;
      // Weights come as numbers, or as float32 bytes (the long view: cheaper to send for thousands of tokens).
      const b = msg.weightsBuffer;
      const bytes = b instanceof ArrayBuffer ? new Float32Array(b) : b instanceof Float32Array ? b : undefined;
      const w = bytes ? Array.from(bytes) : msg.weights;
      const okWeights =
        (b === undefined || bytes !== undefined) &&
        (w === undefined ||
          (Array.isArray(w) && w.length === n && w.every((v) => typeof v === 'number' && v >= 0 && v <= 1)));
      return okWeights
        ? { type: 'focusToken', index: msg.index as number, ...(w ? { weights: w as number[] } : {}) }
        : undefined;
    }
    default:
      return undefined;
  }
}

/** A request of the panel API, rebuilt from checked fields only: for the analysis on display, indices in range. */
function validateRequest(
  msg: Record<string, unknown>,
  summary: AnalysisSummary | undefined,
): RequestMessage<PanelApi> | undefined {
  const isInt = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < max;
  const p = msg.params as Record<string, unknown> | undefined;
  if (!summary || !isInt(msg.id, Number.MAX_SAFE_INTEGER) || !p || typeof p !== 'object') return undefined;
  if (p.analysisId !== summary.analysisId) return undefined;
  const id = msg.id as number;
  const analysisId = summary.analysisId;
  switch (msg.method) {
    case 'slice':
      return isInt(p.layer, summary.model.layers) && validHead(p.head, p.layer as number, summary)
        ? { kind: 'request', id, method: 'slice', params: { analysisId, layer: p.layer as number, head: p.head } }
        : undefined;
    case 'rows':
      return isInt(p.layer, summary.model.layers) &&
        isInt(p.index, summary.n) &&
        (p.direction === 'row' || p.direction === 'column')
        ? {
            kind: 'request',
            id,
            method: 'rows',
            params: { analysisId, layer: p.layer as number, index: p.index as number, direction: p.direction },
          }
        : undefined;
    case 'overview':
    case 'received': {
      // Long analyses only: one head or the heads' mean / max of a layer (no rollout, no other block side).
      if (!summary.long || !isInt(p.layer, summary.model.layers)) return undefined;
      const head = p.head;
      if (!(head === 'mean' || head === 'max' || isInt(head, summary.model.heads[p.layer as number]))) return undefined;
      const params = { analysisId, layer: p.layer as number, head: head as number | 'mean' | 'max' };
      return msg.method === 'overview'
        ? { kind: 'request', id, method: 'overview', params }
        : { kind: 'request', id, method: 'received', params };
    }
    case 'layerOperands':
      return summary.long && isInt(p.layer, summary.model.layers)
        ? { kind: 'request', id, method: 'layerOperands', params: { analysisId, layer: p.layer as number } }
        : undefined;
    case 'tile':
      return summary.long &&
        isInt(p.layer, summary.model.layers) &&
        isInt(p.head, summary.model.heads[p.layer as number]) &&
        isInt(p.row, summary.n) &&
        isInt(p.col, summary.n) &&
        Number.isInteger(p.size) &&
        (p.size as number) >= 1 &&
        (p.size as number) <= 1024
        ? {
            kind: 'request',
            id,
            method: 'tile',
            params: {
              analysisId,
              layer: p.layer as number,
              head: p.head as number,
              row: p.row as number,
              col: p.col as number,
              size: p.size as number,
            },
          }
        : undefined;
    case 'logitLens':
      return isInt(p.index, summary.n)
        ? { kind: 'request', id, method: 'logitLens', params: { analysisId, index: p.index as number } }
        : undefined;
    case 'thumbnails':
      return isInt(p.size, 257)
        ? { kind: 'request', id, method: 'thumbnails', params: { analysisId, size: p.size as number } }
        : undefined;
    case 'rankHeads': {
      const by = p.by as Record<string, unknown> | undefined;
      if (!by || typeof by !== 'object') return undefined;
      if (by.kind === 'pair') {
        return isInt(by.query, summary.n) && isInt(by.key, summary.n)
          ? {
              kind: 'request',
              id,
              method: 'rankHeads',
              params: { analysisId, by: { kind: 'pair', query: by.query as number, key: by.key as number } },
            }
          : undefined;
      }
      return by.kind === 'previous' || by.kind === 'first' || by.kind === 'self'
        ? { kind: 'request', id, method: 'rankHeads', params: { analysisId, by: { kind: by.kind } } }
        : undefined;
    }
    default:
      return undefined;
  }
}

/** A map of the encoder–decoder analysis on display: a known family, its layer, a head or mean / max. */
function validateFamilySlice(
  msg: Record<string, unknown>,
  r: Seq2SeqReply | undefined,
): RequestMessage<PanelApi> | undefined {
  const p = msg.params as Record<string, unknown> | undefined;
  if (!r || !p || typeof p !== 'object' || !Number.isInteger(msg.id) || (msg.id as number) < 0) return undefined;
  if (p.analysisId !== r.analysisId) return undefined;
  const family = p.family;
  if (family !== 'encoder' && family !== 'decoder' && family !== 'cross') return undefined;
  const side = family === 'encoder' ? 'encoder' : 'decoder';
  const layer = p.layer;
  if (!Number.isInteger(layer) || (layer as number) < 0 || (layer as number) >= r.model.layers[side]) return undefined;
  const heads = r.model.heads[side][layer as number];
  const head = p.head;
  const okHead =
    head === 'mean' ||
    head === 'max' ||
    (head === 'rollout' && family !== 'cross') ||
    (Number.isInteger(head) && (head as number) >= 0 && (head as number) < heads);
  if (!okHead) return undefined;
  return {
    kind: 'request',
    id: msg.id as number,
    method: 'familySlice',
    params: { analysisId: r.analysisId, family, layer: layer as number, head: head as HeadSelector },
  };
}

/** A head index of `layer`, an aggregate, or the rollout. */
function validHead(head: unknown, layer: number, summary: AnalysisSummary): head is HeadSelector {
  return (
    head === 'mean' ||
    head === 'max' ||
    head === 'rollout' ||
    (Number.isInteger(head) && (head as number) >= 0 && (head as number) < summary.model.heads[layer])
  );
}
