// The one reader of a model's config.json: layers, heads, positions and hidden size under every name the
// architectures use, so the status bar's count and an analysis agree on the same model.
import type { PreTrainedTokenizer } from '@huggingface/transformers';

/** A model's config.json as transformers.js parsed it. */
export type ModelConfig = Record<string, unknown>;

/** The first of `keys` that holds a number. */
export function configNumber(config: ModelConfig, ...keys: string[]): number | undefined {
  for (const k of keys) if (typeof config[k] === 'number') return config[k] as number;
  return undefined;
}

/** What the config says about the model's shape; 0 where it does not say (checked ranges: model-files.ts). */
export interface ConfigShape {
  layers: number;
  heads: number;
  hiddenSize: number;
  maxPositions: number;
}

/**
 * Layers, heads, hidden size and the position limit. The limit is the config's (the model's own); the tokenizer's
 * `model_max_length` counts only when the config has none (a Llama-family folder with a GPT-2-style tokenizer would
 * otherwise be cut to 1,024 tokens).
 */
export function configShape(config: ModelConfig, tokenizer?: PreTrainedTokenizer): ConfigShape {
  const fromConfig = configNumber(config, 'max_position_embeddings', 'n_positions', 'n_ctx', 'max_seq_len');
  const fromTokenizer = (tokenizer as unknown as { model_max_length?: number } | undefined)?.model_max_length;
  const usable = (v: number | undefined) => typeof v === 'number' && v > 0 && v < 1e8;
  let maxPositions = usable(fromConfig) ? fromConfig! : usable(fromTokenizer) ? fromTokenizer! : 512;
  // RoBERTa-style configs count two padding offsets into max_position_embeddings.
  if (config.model_type === 'roberta' || config.model_type === 'xlm-roberta')
    maxPositions = Math.min(maxPositions, 514 - 2);
  return {
    layers: configNumber(config, 'num_hidden_layers', 'n_layer', 'num_layers') ?? 0,
    heads: configNumber(config, 'num_attention_heads', 'n_head', 'num_heads') ?? 0,
    hiddenSize: configNumber(config, 'hidden_size', 'n_embd', 'd_model', 'dim') ?? 0,
    maxPositions,
  };
}
