import { Engine } from '../src/worker/engine';
const F = '/work/main/test/fixtures/models/';
(async () => {
  const e = new Engine();
  for (const folder of ['llama-tiny', 'gpt2-tiny-past', 'gpt2-tiny', 'gpt2-tiny-merged', 'llama-tiny-gqa', 'mistral-tiny-swa']) {
    const t0 = performance.now();
    const r = await e.generate({ model: F + folder, dtype: 'fp32', text: 'Arjun ate the pizza because', allowRemote: false, maxNewTokens: 8 });
    const model = await e.ensureModel({ model: F + folder, dtype: 'fp32', allowRemote: false });
    const ids = r.tokens.map((t) => t.id);
    const full = await model.run(ids);
    let worst = 0;
    for (let l = 0; l < full.length; l++) {
      const s = new Float32Array((await e.slice({ analysisId: r.analysisId, layer: l, head: 0 })).buffer);
      const n = r.n;
      for (let i = 0; i < n * n; i++) worst = Math.max(worst, Math.abs(s[i] - full[l][i]));
    }
    console.log(folder, 'cached', r.cached, 'P', r.promptTokens, 'gen', r.generated.map((g) => g.text).join('|'), 'worst', worst.toExponential(2), (performance.now() - t0).toFixed(0), 'ms', 'top', JSON.stringify(r.generated[0].topk.slice(0, 2)));
  }
  await e.dispose();
})();
