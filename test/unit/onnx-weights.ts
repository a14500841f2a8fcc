// Reads a fixture model's initializers straight from its ONNX file (and its external data files), independent of
// the engine: float32, float16 (decoded to float32 here) and uint8 tensors.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { onnx } from 'onnx-proto';

export type Weights = Map<string, { dims: number[]; data: Float32Array | Uint8Array }>;

/** One IEEE half as a number. */
export function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Every initializer of an ONNX file, with external data read from the files next to it. */
export function readWeights(file: string): Weights {
  const model = onnx.ModelProto.decode(readFileSync(file));
  const out: Weights = new Map();
  const files = new Map<string, Buffer>();
  for (const t of model.graph?.initializer ?? []) {
    let raw: Uint8Array = t.rawData ?? new Uint8Array(0);
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
      const path = join(dirname(file), kv.location!);
      if (!files.has(path)) files.set(path, readFileSync(path));
      const offset = Number(kv.offset ?? 0);
      raw = files.get(path)!.subarray(offset, offset + Number(kv.length));
    }
    const copy = Uint8Array.from(raw);
    let data: Float32Array | Uint8Array;
    if (t.dataType === 1) data = new Float32Array(copy.buffer, 0, copy.byteLength / 4);
    else if (t.dataType === 10)
      data = Float32Array.from(new Uint16Array(copy.buffer, 0, copy.byteLength / 2), halfValue);
    else data = copy;
    out.set(t.name!, { dims: (t.dims ?? []).map(Number), data });
  }
  return out;
}
