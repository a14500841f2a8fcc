// Exact rows computed in the panel for a long analysis (src/protocol/local-rows.ts): once a layer's operands are here,
// a hover needs no message at all. Until then — or when the engine says the layer's recipe cannot be run here —
// the panel asks the engine for each row, as before.
import { type LayerOperands, localRows, localTile } from '../src/protocol/local-rows';
import type { LayerOperandsReply, PanelApi, RowsReply, TileReply } from '../src/protocol/messages';
import type { EngineError, RpcClient } from '../src/protocol/rpc';
import { LatestRequest } from './latest-request';

/** Layers whose operands are kept (a layer is 12 MB at N = 4,096 on the SmolLM2 shape). */
const KEEP_LAYERS = 3;

export class LocalRowSource {
  private analysisId = -1;
  private readonly layers = new Map<number, LayerOperands | string>();
  private readonly operands: LatestRequest<{ analysisId: number; layer: number }, LayerOperandsReply>;

  constructor(
    rpc: RpcClient<PanelApi>,
    timeoutMs: number,
    /** A layer's operands arrived (the view may fill the focused row from them). */
    private readonly onReady: (layer: number) => void,
    onError: (e: EngineError) => void,
  ) {
    this.operands = new LatestRequest(
      (p) => rpc.call('layerOperands', p, timeoutMs),
      (r) => this.onOperands(r),
      onError,
    );
  }

  /** A new long analysis: forget the old one's operands. */
  reset(analysisId: number): void {
    this.analysisId = analysisId;
    this.layers.clear();
    this.operands.reset();
    delete document.body.dataset.localRows;
  }

  /** Asks for a layer's operands unless they are here (or known to be unavailable). */
  want(layer: number): void {
    if (!this.layers.has(layer)) this.operands.request({ analysisId: this.analysisId, layer });
  }

  /** Query `index`'s exact row in every head of `layer`, computed here; undefined while the operands are not. */
  rows(layer: number, index: number): RowsReply | undefined {
    const op = this.layers.get(layer);
    if (!op || typeof op === 'string' || index < 0 || index >= op.n) return undefined;
    const data = localRows(op, index);
    return {
      analysisId: this.analysisId,
      layer,
      index,
      direction: 'row',
      heads: op.heads,
      n: op.n,
      buffer: data.buffer as ArrayBuffer,
    };
  }

  /** One head's exact tile computed here; undefined while the layer's operands are not. */
  tile(layer: number, head: number, row: number, col: number, size: number): TileReply | undefined {
    const op = this.layers.get(layer);
    if (!op || typeof op === 'string' || head < 0 || head >= op.heads) return undefined;
    const t = localTile(op, head, row, col, size);
    return {
      analysisId: this.analysisId,
      layer,
      head,
      row,
      col,
      rows: t.rows,
      cols: t.cols,
      buffer: t.data.buffer as ArrayBuffer,
    };
  }

  private onOperands(r: LayerOperandsReply): void {
    if (r.analysisId !== this.analysisId) return;
    if (this.layers.size >= KEEP_LAYERS) this.layers.delete(this.layers.keys().next().value!);
    if (r.unavailable || !r.recipe) this.layers.set(r.layer, r.unavailable ?? 'no recipe');
    else
      this.layers.set(r.layer, {
        heads: r.heads,
        keyHeads: r.keyHeads,
        n: r.n,
        dim: r.dim,
        recipe: r.recipe,
        q: new Float32Array(r.q),
        k: new Float32Array(r.k),
      });
    // Tests and the benchmark read whether hovers are served here.
    document.body.dataset.localRows = r.unavailable ? `unavailable:${r.layer}: ${r.unavailable}` : `ready:${r.layer}`;
    this.onReady(r.layer);
  }
}
