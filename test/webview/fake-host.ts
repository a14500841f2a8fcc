// Stands in for the extension host inside a plain Chromium page: defines acquireVsCodeApi, answers the
// panel's requests from a real AttentionStore, and records every message and byte it delivers.
import type {
  AnalysisSummary,
  AttentionFamily,
  HostToWebview,
  NextToken,
  PanelApi,
  Seq2SeqReply,
  WebviewToHost,
} from '../../src/protocol/messages';
import { serve } from '../../src/protocol/rpc';
import { AttentionStore, ownBuffer } from '../../src/worker/attention-store';
import { Rollout } from '../../src/worker/head-analysis';

/** What a test puts in `window.__fixture` before the page loads. */
export interface PanelFixture {
  summary?: AnalysisSummary;
  sourceLabel?: string;
  sourceText?: string;
  /** Per layer, heads × N × N weights, row-major (recorded from the engine). */
  layers?: number[][];
  /** Or random softmax rows of this shape (benchmarks). */
  synthetic?: { n: number; layers: number; heads: number; causal: boolean; seed: number; kvHeads?: number };
  /** State VS Code would restore (a reload). */
  state?: unknown;
  /** An encoder–decoder analysis and its maps (recorded from the engine), sent instead of `summary`. */
  seq2seq?: { reply: Seq2SeqReply; maps: Record<AttentionFamily, number[][]> };
  /** Logit lens replies by token index (recorded from the engine). */
  lens?: Record<number, NextToken[][]>;
  /**
   * Send layer 0 head 0 with the analysis, as the host does with the view it expects; `true` sends the thumbnails
   * too, 'slice' only the slice (what Show Attention sends: the grid then waits for the rest of the pass).
   */
  pushFirst?: boolean | 'slice';
  /** Answer the thumbnails request this much later (the engine finishing the model's pass after a first view). */
  thumbnailsAfterMs?: number;
  /**
   * A long analysis held by a real engine in the test process: the panel's long-input requests (overview, received,
   * tile, rows) go to it through window.__engine, which the test exposes before the page loads.
   */
  long?: {
    summary: AnalysisSummary;
    /** Answer layerOperands with `unavailable` (the panel must ask the engine for rows and tiles then). */
    refuseOperands?: boolean;
  };
}

/** What the test exposes for a long analysis: the engine's answer, each of its ArrayBuffers as an array of numbers. */
type EngineBridge = (
  method: string,
  params: unknown,
) => Promise<{ result: Record<string, unknown>; buffers: Record<string, number[]> }>;

/** What the fake host records, read by tests through `window.__fake`. */
export interface FakeRecord {
  sent: WebviewToHost[];
  /** The params of every request of one panel-API method the panel sent, in order. */
  requests<K extends keyof PanelApi>(method: K): Parameters<PanelApi[K]>[0][];
  delivered: { type: string; bytes: number }[];
  state: unknown;
}

declare global {
  interface Window {
    __fixture: PanelFixture;
    __fake: FakeRecord;
    __engine?: EngineBridge;
    acquireVsCodeApi(): unknown;
  }
}

function syntheticStore(spec: NonNullable<PanelFixture['synthetic']>): {
  store: AttentionStore;
  summary: AnalysisSummary;
} {
  let seed = spec.seed >>> 0;
  const random = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const { n } = spec;
  const layers = Array.from({ length: spec.layers }, () => {
    const data = new Float32Array(spec.heads * n * n);
    for (let h = 0; h < spec.heads; h++)
      for (let i = 0; i < n; i++) {
        const keys = spec.causal ? i + 1 : n;
        let total = 0;
        for (let j = 0; j < keys; j++) {
          const v = Math.exp(4 * random());
          data[h * n * n + i * n + j] = v;
          total += v;
        }
        for (let j = 0; j < keys; j++) data[h * n * n + i * n + j] /= total;
      }
    return data;
  });
  const words = ['the', 'animal', 'didn', "'", 't', 'cross', 'street', 'because', 'it', 'was', 'too', 'tired', '.'];
  const tokens = Array.from({ length: n }, (_, i) => ({
    text: i === 0 ? '[CLS]' : i === n - 1 ? '[SEP]' : words[i % words.length],
    id: i,
    start: null,
    end: null,
    special: i === 0 || i === n - 1,
  }));
  const heads = new Array(spec.layers).fill(spec.heads);
  const summary: AnalysisSummary = {
    analysisId: 1,
    n,
    tokens,
    truncated: false,
    analysedFrom: 0,
    analysedChars: n * 4,
    totalChars: n * 4,
    model: {
      id: 'synthetic',
      kind: spec.causal ? 'causal' : 'encoder',
      modelType: 'bert',
      layers: spec.layers,
      heads,
      maxPositions: 4096,
      hiddenSize: 768,
      dtype: 'fp32',
      kvHeads: spec.kvHeads ? new Array(spec.layers).fill(spec.kvHeads) : heads,
      attentionOps: new Array(spec.layers).fill('Softmax'),
    },
    timings: { loadMs: 0, tokenizeMs: 0, forwardMs: 0 },
  };
  return { store: new AttentionStore(n, layers, heads), summary };
}

const fixture = window.__fixture ?? {};
// An encoder–decoder fixture has no decoder-only analysis: a placeholder store answers nothing it is asked.
const { store, summary } = fixture.long
  ? { ...syntheticStore({ n: 2, layers: 1, heads: 1, causal: false, seed: 1 }), summary: fixture.long.summary }
  : fixture.seq2seq
    ? syntheticStore({ n: 2, layers: 1, heads: 1, causal: false, seed: 1 })
    : fixture.synthetic
      ? syntheticStore(fixture.synthetic)
      : {
          store: new AttentionStore(
            fixture.summary!.n,
            fixture.layers!.map((l) => Float32Array.from(l)),
            fixture.summary!.model.heads,
          ),
          summary: fixture.summary!,
        };
const record: FakeRecord = {
  sent: [],
  requests: (method) => record.sent.flatMap((m) => ('kind' in m && m.method === method ? [m.params as never] : [])),
  delivered: [],
  state: fixture.state,
};
window.__fake = record;

/** Posts to the panel and records the bytes; `type` names replies by the method they answer. */
function deliver(
  message: HostToWebview,
  buffer?: ArrayBuffer,
  type = 'type' in message ? message.type : 'reply',
): void {
  const bytes =
    JSON.stringify(message, (_k, v) => (v instanceof ArrayBuffer ? undefined : v)).length + (buffer?.byteLength ?? 0);
  record.delivered.push({ type, bytes });
  window.postMessage(message, '*');
}

/** A long analysis's request, answered by the real engine in the test process. */
async function bridged<R>(method: string, params: unknown): Promise<R> {
  const { result, buffers } = await window.__engine!(method, params);
  const out: Record<string, unknown> = { ...result };
  for (const [name, values] of Object.entries(buffers)) out[name] = Float32Array.from(values).buffer;
  return out as R;
}

/** The panel API answered from the recorded store, as the engine answers it behind the real host. */
const panelApi: {
  [K in keyof PanelApi]: (p: Parameters<PanelApi[K]>[0]) => ReturnType<PanelApi[K]> | Promise<ReturnType<PanelApi[K]>>;
} = {
  overview: (p) => bridged('overview', p),
  received: (p) => bridged('received', p),
  tile: (p) => bridged('tile', p),
  layerOperands: (p) =>
    fixture.long?.refuseOperands
      ? {
          ...p,
          heads: 0,
          n: 0,
          dim: 0,
          keyHeads: 0,
          unavailable: 'refused by the test',
          q: new ArrayBuffer(0),
          k: new ArrayBuffer(0),
        }
      : bridged('layerOperands', p),
  slice: (p) => ({ ...p, n: store.n, buffer: ownBuffer(store.slice(p.layer, p.head)) }),
  rows: (p) =>
    fixture.long
      ? bridged('rows', p)
      : {
          ...p,
          heads: store.heads[p.layer],
          n: store.n,
          buffer: ownBuffer(store.rows(p.layer, p.index, p.direction)),
        },
  thumbnails: (p) => {
    if (fixture.long) return bridged('thumbnails', p);
    const t = store.thumbnails(p.size);
    return { analysisId: p.analysisId, size: t.size, heads: store.heads, buffer: ownBuffer(t.data) };
  },
  rankHeads: (p) => ({ heads: store.rank(p.by) }),
  // Encoder–decoder maps recorded from the engine, by family, as heads × rows × cols per layer.
  familySlice: (p) => {
    const f = fixture.seq2seq!;
    const rows = p.family === 'encoder' ? f.reply.tokens.length : f.reply.targetTokens.length;
    const cols = p.family === 'decoder' ? f.reply.targetTokens.length : f.reply.tokens.length;
    const all = f.maps[p.family][p.layer];
    const size = rows * cols;
    const heads = all.length / size;
    // Rollout of a self-attention family, as the engine computes it (head-analysis.ts).
    if (p.head === 'rollout') {
      const layers = f.maps[p.family].map((l) => Float32Array.from(l));
      const data = new Rollout(
        layers,
        layers.map((l) => l.length / size),
        rows,
      )
        .upTo(p.layer)
        .slice();
      return { ...p, rows, cols, buffer: ownBuffer(data) };
    }
    const out = new Float32Array(size);
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < size; i++) {
        if (typeof p.head === 'number' && h !== p.head) continue;
        const v = all[h * size + i];
        out[i] = p.head === 'max' ? Math.max(out[i], v) : p.head === 'mean' ? out[i] + v / heads : v;
      }
    return { ...p, rows, cols, buffer: ownBuffer(out) };
  },
  // A recorded lens (from the engine on a fixture), else the engine's answer for a graph without one.
  logitLens: (p) =>
    fixture.lens?.[p.index]
      ? { ...p, layers: fixture.lens[p.index] }
      : { ...p, unavailable: 'This graph does not allow a logit lens: the graph has no logits output.' },
};

function answer(m: WebviewToHost): void {
  if ('kind' in m) {
    const later = m.method === 'thumbnails' ? (fixture.thumbnailsAfterMs ?? 0) : 0;
    void serve<PanelApi>(panelApi, m).then(({ reply, transfer }) =>
      setTimeout(() => deliver(reply, transfer[0], m.method), later),
    );
    return;
  }
  if (m.type !== 'ready') return;
  if (fixture.seq2seq) {
    deliver({ type: 'seq2seq', reply: fixture.seq2seq.reply, sourceLabel: fixture.sourceLabel ?? 'fixture' });
    return;
  }
  // After a reload the real host re-runs the saved text; either way the analysis follows 'ready'.
  const base = {
    type: 'analysis' as const,
    summary,
    sourceLabel: fixture.sourceLabel ?? 'fixture',
    sourceText: fixture.sourceText,
  };
  if (!fixture.pushFirst) {
    deliver(base);
    return;
  }
  const slice = ownBuffer(store.slice(0, 0));
  const t = store.thumbnails(24);
  const first = {
    slice: { analysisId: summary.analysisId, layer: 0, head: 0, n: store.n, buffer: slice },
    ...(fixture.pushFirst === 'slice'
      ? {}
      : {
          thumbnails: { analysisId: summary.analysisId, size: t.size, heads: store.heads, buffer: ownBuffer(t.data) },
        }),
  };
  deliver({ ...base, first }, slice);
}

window.acquireVsCodeApi = () => ({
  postMessage(m: WebviewToHost) {
    record.sent.push(m);
    // Like the real host: replies arrive later, never inside the call.
    setTimeout(() => answer(m), 0);
  },
  getState: () => record.state,
  setState: (s: unknown) => {
    record.state = s;
  },
});
