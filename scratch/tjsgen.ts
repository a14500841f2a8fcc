import { AutoModelForCausalLM, AutoTokenizer, env } from '@huggingface/transformers';
const F = '/work/main/test/fixtures/models/';
(async () => {
  env.allowRemoteModels = false;
  for (const folder of ['llama-tiny', 'gpt2-tiny-past', 'gpt2-tiny-merged']) {
    try {
      const tok = await AutoTokenizer.from_pretrained(F + folder);
      const model = await AutoModelForCausalLM.from_pretrained(F + folder, { dtype: 'fp32' } as never);
      const inputs = tok('Arjun ate the pizza because');
      const out = (await model.generate({ ...inputs, max_new_tokens: 8, do_sample: false } as never)) as { tolist(): bigint[][] };
      console.log(folder, out.tolist()[0].map(Number).join(','));
    } catch (e) { console.log(folder, 'FAIL', (e as Error).message.slice(0, 200)); }
  }
})();
