// Reads and rewrites an ONNX model at the protobuf wire level, without ever holding its weights. Graph surgery
// needs the node list, the graph's inputs and outputs and the opsets; everything else is located by byte ranges.
// Read from a file, the model is walked with small positioned reads, and the rewritten model points each large
// initializer back at its bytes in the original file as external data (location, offset, length), so onnxruntime
// reads the weights from disk once — as it does for the plain model. Why not decode and re-encode: on this machine
// copying a 436 MB model once costs 1.3–2 s (fresh pages), more than the whole plain session creation.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { onnx } from 'onnx-proto';

/** One field of a protobuf message: where it starts and ends, and its payload for length-delimited ones. */
interface Field {
  number: number;
  wire: number;
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
const TENSOR_DIMS = 1;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
/** Initializers smaller than this stay inline in the rewritten model. */
const EXTERNAL_MIN_BYTES = 4096;

export class WireError extends Error {}

/** Bytes of a model, in memory or read on demand from a file. */
export interface ByteSource {
  readonly length: number;
  /** True when views returned by read() stay valid (memory); false for a file's reused window. */
  readonly stable: boolean;
  /** Bytes [start, end); a view that stays valid until the next call. */
  read(start: number, end: number): Uint8Array;
  close(): void;
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return { length: bytes.length, stable: true, read: (s, e) => bytes.subarray(s, e), close: () => undefined };
}

/** A file read through a 64 KiB window: walking a model's fields touches a few KB around each header only. */
export function fileSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  const length = fstatSync(fd).size;
  let window = Buffer.alloc(0);
  let windowStart = 0;
  return {
    length,
    stable: false,
    read(start, end) {
      if (start >= windowStart && end <= windowStart + window.length)
        return window.subarray(start - windowStart, end - windowStart);
      const size = Math.max(end - start, 64 * 1024);
      window = Buffer.alloc(Math.min(size, length - start));
      readSync(fd, window, 0, window.length, start);
      windowStart = start;
      return window.subarray(0, end - start);
    },
    close: () => closeSync(fd),
  };
}

function readVarint(src: ByteSource, at: number, limit: number): [value: number, next: number] {
  const bytes = src.read(at, Math.min(at + 10, limit));
  let value = 0;
  let scale = 1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, at + i + 1];
    scale *= 128;
  }
  throw new WireError(`a varint at byte ${at} runs past the end`);
}

/** The fields of the message in [start, end). */
function fields(src: ByteSource, start: number, end: number): Field[] {
  const out: Field[] = [];
  let at = start;
  while (at < end) {
    const fieldStart = at;
    const [tag, afterTag] = readVarint(src, at, end);
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    at = afterTag;
    let payloadStart = at;
    if (wire === 0) at = readVarint(src, at, end)[1];
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const [length, next] = readVarint(src, at, end);
      payloadStart = next;
      at = next + length;
    } else throw new WireError(`field ${number} has wire type ${wire}, which ONNX does not use`);
    if (at > end) throw new WireError(`field ${number} at byte ${fieldStart} runs past the end of its message`);
    out.push({ number, wire, start: fieldStart, end: at, payloadStart });
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

function header(number: number, length: number): Uint8Array {
  return Uint8Array.from([...varintBytes(number * 8 + 2), ...varintBytes(length)]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An initializer: its field ranges, and where its raw data lies (if it has any). */
interface Initializer {
  field: Field;
  name: string;
  dims: number[];
  parts: Field[];
  raw?: Field;
}

/** The parts of a model that surgery reads and edits; the rest stays where it is. */
export interface WireModel {
  nodes: onnx.NodeProto[];
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  /** Types to declare for tensors surgery creates whose type onnxruntime cannot infer (written as value_info). */
  valueInfos: onnx.IValueInfoProto[];
  opsets: { domain: string; version: number }[];
  /** Shapes of the graph's initializers, by name (read from their dims and name fields only). */
  initializerDims: Map<string, number[]>;
  readonly source: ByteSource;
  readonly modelFields: Field[];
  readonly graphField: Field;
  readonly graphFields: Field[];
  readonly initializers: Map<Field, Initializer>;
}

function readInitializer(src: ByteSource, f: Field): Initializer {
  const parts = fields(src, f.payloadStart, f.end);
  let name = '';
  const dims: number[] = [];
  let raw: Field | undefined;
  for (const t of parts) {
    if (t.number === TENSOR_NAME) name = new TextDecoder().decode(src.read(t.payloadStart, t.end));
    else if (t.number === TENSOR_RAW_DATA) raw = t;
    else if (t.number === TENSOR_DIMS && t.wire === 2) {
      for (let at = t.payloadStart; at < t.end; ) {
        const [v, next] = readVarint(src, at, t.end);
        dims.push(v);
        at = next;
      }
    } else if (t.number === TENSOR_DIMS) dims.push(readVarint(src, t.payloadStart, t.end)[0]);
  }
  return { field: f, name, dims, parts, raw };
}

/** Splits a model into what surgery edits (nodes, inputs, outputs, opsets) and byte ranges it keeps. */
export function readWireModel(input: Uint8Array | ByteSource): WireModel {
  const source = input instanceof Uint8Array ? memorySource(input) : input;
  const modelFields = fields(source, 0, source.length);
  const graphField = modelFields.find((f) => f.number === MODEL_GRAPH);
  if (!graphField) throw new WireError('the model has no graph');
  const graphFields = fields(source, graphField.payloadStart, graphField.end);
  const decode = <T>(f: Field, type: { decode(b: Uint8Array): T }) => type.decode(source.read(f.payloadStart, f.end));
  const opsets = modelFields
    .filter((f) => f.number === MODEL_OPSET)
    .map((f) => {
      const o = decode(f, onnx.OperatorSetIdProto);
      return { domain: o.domain ?? '', version: Number(o.version ?? 0) };
    });
  const initializers = new Map<Field, Initializer>();
  for (const f of graphFields) if (f.number === GRAPH_INITIALIZER) initializers.set(f, readInitializer(source, f));
  return {
    nodes: graphFields.filter((f) => f.number === GRAPH_NODE).map((f) => decode(f, onnx.NodeProto)),
    inputs: graphFields.filter((f) => f.number === GRAPH_INPUT).map((f) => decode(f, onnx.ValueInfoProto)),
    outputs: graphFields.filter((f) => f.number === GRAPH_OUTPUT).map((f) => decode(f, onnx.ValueInfoProto)),
    valueInfos: [],
    opsets,
    initializerDims: new Map([...initializers.values()].map((i) => [i.name, i.dims])),
    source,
    modelFields,
    graphField,
    graphFields,
    initializers,
  };
}

/** StringStringEntryProto {key, value} as bytes. */
function entry(key: string, value: string): Uint8Array {
  const k = new TextEncoder().encode(key);
  const v = new TextEncoder().encode(value);
  return concat([header(1, k.length), k, header(2, v.length), v]);
}

/** The initializer with its raw data replaced by a reference to the same bytes in the original file. */
function externalInitializer(src: ByteSource, init: Initializer, location: string): Uint8Array {
  const raw = init.raw!;
  const parts: Uint8Array[] = [];
  for (const t of init.parts) if (t !== raw) parts.push(Uint8Array.from(src.read(t.start, t.end)));
  for (const [k, v] of [
    ['location', location],
    ['offset', String(raw.payloadStart)],
    ['length', String(raw.end - raw.payloadStart)],
  ]) {
    const e = entry(k, v);
    parts.push(header(TENSOR_EXTERNAL_DATA, e.length), e);
  }
  parts.push(Uint8Array.from([TENSOR_DATA_LOCATION * 8, 1]));
  const body = concat(parts);
  return concat([header(GRAPH_INITIALIZER, body.length), body]);
}

/** A piece of a model written on its own: its declared inputs and the initializers it reads (by name). */
export interface SubModel {
  inputs: onnx.IValueInfoProto[];
  initializers: Set<string>;
}

/**
 * Writes the model back with its (possibly edited) node list and outputs, plus extra initializers. With
 * `weightsFile` (the original file's name, resolved by onnxruntime against the model's folder), large raw
 * initializers become references into that file and nothing large is copied; without it, bytes are copied once.
 */
export function writeWireModel(
  model: WireModel,
  extraInitializers: onnx.ITensorProto[] = [],
  weightsFile?: string,
  only?: SubModel,
): Uint8Array {
  const src = model.source;
  // In memory the views are placed straight into the output; a file's window is reused, so it is copied out.
  const copy = (f: Field) => (src.stable ? src.read(f.start, f.end) : Uint8Array.from(src.read(f.start, f.end)));
  const graphParts: Uint8Array[] = [];
  let nodesWritten = false;
  const writeNodes = () => {
    for (const node of model.nodes) {
      const b = onnx.NodeProto.encode(node).finish();
      graphParts.push(header(GRAPH_NODE, b.length), b);
    }
    nodesWritten = true;
  };
  for (const f of model.graphFields) {
    if (f.number === GRAPH_NODE) {
      if (!nodesWritten) writeNodes();
    } else if (f.number === GRAPH_OUTPUT) continue;
    else if (only && (f.number === GRAPH_INPUT || f.number === GRAPH_VALUE_INFO)) continue;
    else if (f.number === GRAPH_INITIALIZER) {
      const init = model.initializers.get(f)!;
      if (only && !only.initializers.has(init.name)) continue;
      const large = init.raw && init.raw.end - init.raw.payloadStart >= EXTERNAL_MIN_BYTES;
      graphParts.push(weightsFile && large ? externalInitializer(src, init, weightsFile) : copy(f));
    } else graphParts.push(copy(f));
  }
  if (!nodesWritten) writeNodes();
  for (const i of only?.inputs ?? []) {
    const b = onnx.ValueInfoProto.encode(i).finish();
    graphParts.push(header(GRAPH_INPUT, b.length), b);
  }
  for (const t of extraInitializers) {
    const b = onnx.TensorProto.encode(t).finish();
    graphParts.push(header(GRAPH_INITIALIZER, b.length), b);
  }
  for (const o of model.outputs) {
    const b = onnx.ValueInfoProto.encode(o).finish();
    graphParts.push(header(GRAPH_OUTPUT, b.length), b);
  }
  for (const v of model.valueInfos) {
    const b = onnx.ValueInfoProto.encode(v).finish();
    graphParts.push(header(GRAPH_VALUE_INFO, b.length), b);
  }
  // One copy in all: the graph's parts are placed straight into the model behind a header with their length.
  const graphLength = graphParts.reduce((s, p) => s + p.length, 0);
  const modelParts: Uint8Array[] = [];
  for (const f of model.modelFields) {
    if (f === model.graphField) modelParts.push(header(MODEL_GRAPH, graphLength), ...graphParts);
    else modelParts.push(copy(f));
  }
  return concat(modelParts);
}
