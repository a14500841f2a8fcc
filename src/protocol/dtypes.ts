// The weight precisions transformers.js offers on CPU, their file-name suffixes in a model's onnx/ folder, and the
// order `auto` tries them in. Shared by the host (settings, picker), the worker and the command line.

/** Every dtype whose files transformers.js can load on onnxruntime-node's CPU provider. */
export const DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;

/** Weight precision of the ONNX file the engine loads. */
export type Dtype = (typeof DTYPES)[number];

/** What a user may ask for: a dtype, or `auto` (the engine picks; never passed on to transformers.js). */
export type DtypeChoice = Dtype | 'auto';

/** `auto` takes the first of these whose file exists and fits in memory (most faithful first). */
export const AUTO_ORDER: readonly Dtype[] = ['fp32', 'fp16', 'q8', 'q4f16', 'q4', 'bnb4'];

/** `onnx/model<suffix>.onnx` per dtype, as transformers.js names the files. */
export const DTYPE_SUFFIX: Readonly<Record<Dtype, string>> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/** True for a dtype or `auto`. */
export function isDtypeChoice(value: unknown): value is DtypeChoice {
  return value === 'auto' || (DTYPES as readonly unknown[]).includes(value);
}
