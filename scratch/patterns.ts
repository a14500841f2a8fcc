import { Engine } from '../src/worker/engine';
const model = '/work/main/test/fixtures/models/use-lite';
(async () => {
  const e = new Engine();
  for (const text of ["The animal didn't cross the street because it was too tired.", "The animal didn't cross the street because it was too wide."]) {
    const s = await e.analyze({ model, dtype: 'fp32', text, allowRemote: false });
    const toks = s.tokens.map((t) => t.text);
    const it = toks.indexOf('it'), animal = toks.indexOf('animal'), street = toks.indexOf('street');
    console.log(text, toks.join('|'));
    for (let l = 0; l < 2; l++) for (let h = 0; h < 4; h++) {
      const m = new Float32Array((await e.slice({ analysisId: s.analysisId, layer: l, head: h })).buffer);
      const n = s.n;
      const row = Array.from(m.slice(it * n, it * n + n));
      const ranked = row.map((v, j) => [v, toks[j]] as [number, string]).sort((a, b) => b[0] - a[0]).slice(0, 4).map(([v, t]) => `${t}:${(v * 100).toFixed(1)}`).join(' ');
      let prev = 0, self = 0, first = 0, punct = 0;
      for (let i = 1; i < n; i++) { prev += m[i * n + i - 1]; }
      for (let i = 0; i < n; i++) { self += m[i * n + i]; first += m[i * n]; punct += m[i * n + n - 1]; }
      console.log(`L${l}H${h} it→animal ${(row[animal] * 100).toFixed(1)} it→street ${(row[street] * 100).toFixed(1)} | top: ${ranked} | prev ${(prev / (n - 1)).toFixed(2)} self ${(self / n).toFixed(2)} first ${(first / n).toFixed(2)} toPeriod ${(punct / n).toFixed(2)}`);
    }
  }
  await e.dispose();
})();
