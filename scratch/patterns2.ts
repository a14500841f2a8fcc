import { Engine } from '../src/worker/engine';
const model = '/work/main/test/fixtures/models/use-lite';
const texts = ["The animal didn't cross the street because it was too tired.", "The cat sat on the mat.", "Hello, how are you?", "I love machine learning because it is fun.", "The quick brown fox jumps over the lazy dog."];
(async () => {
  const e = new Engine();
  const stats: Record<string, { prev: number; next: number; self: number; period: number; rows: number }> = {};
  for (const text of texts) {
    const s = await e.analyze({ model, dtype: 'fp32', text, allowRemote: false });
    const n = s.n; const toks = s.tokens.map((t) => t.text);
    for (let l = 0; l < 2; l++) for (let h = 0; h < 4; h++) {
      const m = new Float32Array((await e.slice({ analysisId: s.analysisId, layer: l, head: h })).buffer);
      const k = `L${l}H${h}`; stats[k] ??= { prev: 0, next: 0, self: 0, period: 0, rows: 0 };
      for (let i = 0; i < n; i++) {
        let best = 0; for (let j = 1; j < n; j++) if (m[i * n + j] > m[i * n + best]) best = j;
        stats[k].rows++;
        if (best === i - 1) stats[k].prev++; if (best === i + 1) stats[k].next++; if (best === i) stats[k].self++;
        if (/^[.?,!]$/.test(toks[best])) stats[k].period++;
      }
    }
  }
  for (const [k, v] of Object.entries(stats)) console.log(k, `argmax prev ${(v.prev / v.rows).toFixed(2)} next ${(v.next / v.rows).toFixed(2)} self ${(v.self / v.rows).toFixed(2)} punct ${(v.period / v.rows).toFixed(2)} (rows ${v.rows})`);
  await e.dispose();
})();
