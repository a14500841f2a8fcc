// Values of one-element constants (a 1/√d scale, a softcap) read from a model without decoding its weights: only
// initializers of one element are decoded, and Constant nodes.
import { onnx } from 'onnx-proto';
import { halfToFloat } from './float16';
import type { WireModel } from './onnx-wire';

/** A float / float16 / double / int32 / int64 tensor of one element as a number; undefined otherwise. */
export function tensorScalar(t: onnx.ITensorProto): number | undefined {
  if ((t.dims ?? []).reduce((a: number, d) => a * Number(d), 1) !== 1) return undefined;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const view = raw && new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (t.dataType) {
    case onnx.TensorProto.DataType.FLOAT:
      return view ? view.getFloat32(0, true) : t.floatData?.[0];
    case onnx.TensorProto.DataType.FLOAT16: {
      const bits = view ? view.getUint16(0, true) : t.int32Data?.[0];
      return bits === undefined ? undefined : halfToFloat(Uint16Array.of(bits))[0];
    }
    case onnx.TensorProto.DataType.DOUBLE:
      return view ? view.getFloat64(0, true) : t.doubleData?.[0];
    case onnx.TensorProto.DataType.INT32:
      return view ? view.getInt32(0, true) : t.int32Data?.[0];
    case onnx.TensorProto.DataType.INT64:
      return view
        ? Number(view.getBigInt64(0, true))
        : t.int64Data?.[0] === undefined
          ? undefined
          : Number(t.int64Data[0]);
    default:
      return undefined;
  }
}

/** Looks up one-element constants of a model (and of initializers surgery inlined) by name. */
export function scalarReader(model: WireModel, inlined: onnx.ITensorProto[]): (name: string) => number | undefined {
  const small = new Map<string, () => number | undefined>();
  for (const init of model.initializers.values())
    if (init.dims.reduce((a, d) => a * d, 1) === 1)
      small.set(init.name, () =>
        tensorScalar(onnx.TensorProto.decode(model.source.read(init.field.payloadStart, init.field.end))),
      );
  for (const t of inlined) small.set(t.name ?? '', () => tensorScalar(t));
  for (const node of model.nodes) {
    if (node.opType !== 'Constant') continue;
    const a = node.attribute?.[0];
    const name = node.output?.[0] ?? '';
    if (a?.name === 'value' && a.t) small.set(name, () => tensorScalar(a.t!));
    else if (a?.name === 'value_float') small.set(name, () => Number(a.f));
  }
  const cache = new Map<string, number | undefined>();
  return (name) => {
    if (!cache.has(name)) cache.set(name, small.get(name)?.());
    return cache.get(name);
  };
}
