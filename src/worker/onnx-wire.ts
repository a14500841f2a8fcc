// Reads and rewrites an ONNX model at the protobuf wire level. Graph surgery only needs the node list, the graph's
// inputs and outputs and the opsets; decoding the whole ModelProto (weights included) and encoding it again cost
// ~4× a plain session creation on a bert-base-sized model, so everything else — initializers above all — is kept
// as the byte ranges it already is and copied once into the rewritten model.
import { onnx } from 'onnx-proto';

/** One top-level field of a protobuf message: where it starts and ends, and its payload for length-delimited ones. */
interface Field {
  number: number;
  start: number;
  end: number;
  payloadStart: number;
}

const MODEL_GRAPH = 7;
const MODEL_OPSET = 8;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const GRAPH_VALUE_INFO = 13;

class WireError extends Error {}

function readVarint(buf: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const b = buf[i];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, i + 1];
    scale *= 128;
  }
  throw new WireError(`a varint at byte ${at} runs past the end`);
}

/** The fields of the message in buf[start, end). */
function fields(buf: Uint8Array, start: number, end: number): Field[] {
  const out: Field[] = [];
  let at = start;
  while (at < end) {
    const fieldStart = at;
    const [tag, afterTag] = readVarint(buf, at);
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    at = afterTag;
    let payloadStart = at;
    if (wire === 0) at = readVarint(buf, at)[1];
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const [length, next] = readVarint(buf, at);
      payloadStart = next;
      at = next + length;
    } else throw new WireError(`field ${number} has wire type ${wire}, which ONNX does not use`);
    if (at > end) throw new WireError(`field ${number} at byte ${fieldStart} runs past the end of its message`);
    out.push({ number, start: fieldStart, end: at, payloadStart });
  }
  return out;
}

function varintBytes(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A length-delimited field: tag, length and payload. */
function lengthDelimited(number: number, payload: Uint8Array): Uint8Array[] {
  return [Uint8Array.from([...varintBytes(number * 8 + 2), ...varintBytes(payload.length)]), payload];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The parts of a model that surgery reads and edits; the rest stays as bytes. */
export interface WireModel {
  nodes: onnx.NodeProto[];
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  /** Types to declare for tensors surgery creates whose type onnxruntime cannot infer (written as value_info). */
  valueInfos: onnx.IValueInfoProto[];
  opsets: { domain: string; version: number }[];
  /** Shapes of the graph's initializers, by name (read from their dims and name fields only). */
  initializerDims: Map<string, number[]>;
  readonly bytes: Uint8Array;
  readonly modelFields: Field[];
  readonly graphField: Field;
  readonly graphFields: Field[];
}

/** Splits a model into what surgery edits (nodes, inputs, outputs, opsets) and byte ranges it keeps. */
export function readWireModel(bytes: Uint8Array): WireModel {
  const modelFields = fields(bytes, 0, bytes.length);
  const graphField = modelFields.find((f) => f.number === MODEL_GRAPH);
  if (!graphField) throw new WireError('the model has no graph');
  const graphFields = fields(bytes, graphField.payloadStart, graphField.end);
  const slice = (f: Field) => bytes.subarray(f.payloadStart, f.end);
  const opsets = modelFields
    .filter((f) => f.number === MODEL_OPSET)
    .map((f) => {
      const o = onnx.OperatorSetIdProto.decode(slice(f));
      return { domain: o.domain ?? '', version: Number(o.version ?? 0) };
    });
  const initializerDims = new Map<string, number[]>();
  for (const f of graphFields) {
    if (f.number !== GRAPH_INITIALIZER) continue;
    // Only the TensorProto's dims (field 1) and name (field 8) are read; its data is never decoded.
    let name = '';
    const dims: number[] = [];
    for (const t of fields(bytes, f.payloadStart, f.end)) {
      if (t.number === 8) name = new TextDecoder().decode(bytes.subarray(t.payloadStart, t.end));
      else if (t.number === 1 && t.payloadStart === t.end) continue;
      else if (t.number === 1 && bytes[t.start] % 8 === 2) {
        for (let at = t.payloadStart; at < t.end; ) {
          const [v, next] = readVarint(bytes, at);
          dims.push(v);
          at = next;
        }
      } else if (t.number === 1) dims.push(readVarint(bytes, t.payloadStart)[0]);
    }
    initializerDims.set(name, dims);
  }
  return {
    nodes: graphFields.filter((f) => f.number === GRAPH_NODE).map((f) => onnx.NodeProto.decode(slice(f))),
    inputs: graphFields.filter((f) => f.number === GRAPH_INPUT).map((f) => onnx.ValueInfoProto.decode(slice(f))),
    outputs: graphFields.filter((f) => f.number === GRAPH_OUTPUT).map((f) => onnx.ValueInfoProto.decode(slice(f))),
    valueInfos: [],
    opsets,
    initializerDims,
    bytes,
    modelFields,
    graphField,
    graphFields,
  };
}

/**
 * Writes the model back with its (possibly edited) node list and outputs, plus extra initializers. Every other
 * byte — weights included — is copied unchanged, once.
 */
export function writeWireModel(model: WireModel, extraInitializers: onnx.ITensorProto[] = []): Uint8Array {
  const { bytes } = model;
  const graphParts: Uint8Array[] = [];
  let nodesWritten = false;
  const writeNodes = () => {
    for (const node of model.nodes)
      graphParts.push(...lengthDelimited(GRAPH_NODE, onnx.NodeProto.encode(node).finish()));
    nodesWritten = true;
  };
  for (const f of model.graphFields) {
    if (f.number === GRAPH_NODE) {
      if (!nodesWritten) writeNodes();
    } else if (f.number !== GRAPH_OUTPUT) graphParts.push(bytes.subarray(f.start, f.end));
  }
  if (!nodesWritten) writeNodes();
  for (const t of extraInitializers)
    graphParts.push(...lengthDelimited(GRAPH_INITIALIZER, onnx.TensorProto.encode(t).finish()));
  for (const o of model.outputs)
    graphParts.push(...lengthDelimited(GRAPH_OUTPUT, onnx.ValueInfoProto.encode(o).finish()));
  for (const v of model.valueInfos)
    graphParts.push(...lengthDelimited(GRAPH_VALUE_INFO, onnx.ValueInfoProto.encode(v).finish()));
  // One copy in all: the graph's parts are placed straight into the model behind a header with their length.
  const graphLength = graphParts.reduce((s, p) => s + p.length, 0);
  const modelParts: Uint8Array[] = [];
  for (const f of model.modelFields) {
    if (f === model.graphField)
      modelParts.push(
        Uint8Array.from([...varintBytes(MODEL_GRAPH * 8 + 2), ...varintBytes(graphLength)]),
        ...graphParts,
      );
    else modelParts.push(bytes.subarray(f.start, f.end));
  }
  return concat(modelParts);
}

export { WireError };
