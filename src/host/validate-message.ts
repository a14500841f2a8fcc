// Validation of what the webview sends: it renders untrusted text, so the host trusts none of its messages.
import type { AnalysisSummary, FromWebview, HeadSelector } from '../protocol/messages';

/** Checks a message from the webview before use: the webview renders untrusted text, so trust nothing it sends. */
export function validateFromWebview(m: unknown, summary: AnalysisSummary | undefined): FromWebview | undefined {
  if (!m || typeof m !== 'object') return undefined;
  const msg = m as Record<string, unknown>;
  const isInt = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < max;
  switch (msg.type) {
    case 'ready':
      return { type: 'ready' };
    case 'action':
      return msg.action === 'selectModel' ||
        msg.action === 'openSettings' ||
        msg.action === 'showLog' ||
        msg.action === 'retry'
        ? { type: 'action', action: msg.action }
        : undefined;
    case 'requestSlice': {
      if (!summary || msg.analysisId !== summary.analysisId || !isInt(msg.requestId, Number.MAX_SAFE_INTEGER))
        return undefined;
      if (!isInt(msg.layer, summary.model.layers)) return undefined;
      const head = msg.head;
      return validHead(head, msg.layer as number, summary)
        ? {
            type: 'requestSlice',
            requestId: msg.requestId as number,
            analysisId: summary.analysisId,
            layer: msg.layer as number,
            head: head as HeadSelector,
          }
        : undefined;
    }
    case 'requestThumbnails':
      return summary && msg.analysisId === summary.analysisId && isInt(msg.size, 257)
        ? { type: 'requestThumbnails', analysisId: summary.analysisId, size: msg.size as number }
        : undefined;
    case 'requestRows': {
      if (!summary || msg.analysisId !== summary.analysisId || !isInt(msg.requestId, Number.MAX_SAFE_INTEGER))
        return undefined;
      if (
        !isInt(msg.layer, summary.model.layers) ||
        !isInt(msg.index, summary.n) ||
        (msg.direction !== 'row' && msg.direction !== 'column')
      )
        return undefined;
      return {
        type: 'requestRows',
        requestId: msg.requestId as number,
        analysisId: summary.analysisId,
        layer: msg.layer as number,
        index: msg.index as number,
        direction: msg.direction,
      };
    }
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
    case 'rankHeads': {
      if (!summary || msg.analysisId !== summary.analysisId || !msg.by || typeof msg.by !== 'object') return undefined;
      const by = msg.by as Record<string, unknown>;
      if (by.kind === 'pair')
        return isInt(by.query, summary.n) && isInt(by.key, summary.n)
          ? {
              type: 'rankHeads',
              analysisId: summary.analysisId,
              by: { kind: 'pair', query: by.query as number, key: by.key as number },
            }
          : undefined;
      return by.kind === 'previous' || by.kind === 'first' || by.kind === 'self'
        ? { type: 'rankHeads', analysisId: summary.analysisId, by: { kind: by.kind } }
        : undefined;
    }
    case 'focusToken': {
      if (msg.index === null) return { type: 'focusToken', index: null };
      if (!summary || !isInt(msg.index, summary.n)) return undefined;
      const w = msg.weights;
      const okWeights =
        w === undefined ||
        (Array.isArray(w) && w.length === summary.n && w.every((v) => typeof v === 'number' && v >= 0 && v <= 1));
      return okWeights
        ? { type: 'focusToken', index: msg.index as number, ...(w ? { weights: w as number[] } : {}) }
        : undefined;
    }
    default:
      return undefined;
  }
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
