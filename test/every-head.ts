// Every (layer, head) pair of a model, for tests that check each attention map.

/** The layer × head pairs of a model whose layer `l` has `heads[l]` heads, layer-major. */
export function everyHead(heads: number[]): { layer: number; head: number }[] {
  return heads.flatMap((count, layer) => Array.from({ length: count }, (_, head) => ({ layer, head })));
}
