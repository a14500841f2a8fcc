// Worker memory at N = 512 on a model folder: peak RSS of the analysis, and RSS after its data is released.
import { Engine } from '../../src/worker/engine';

(async () => {
  const model = process.argv[2];
  const engine = new Engine();
  const text = Array.from(
    { length: 700 },
    (_, i) => ['the', 'animal', 'crossed', 'street', 'because', 'it', 'was', 'tired'][i % 8],
  ).join(' ');
  const s = await engine.analyze({ model, dtype: 'fp32', text, allowRemote: false });
  const heldMb = engine.heldBytes / 2 ** 20;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const beforeCloseRssMb = process.memoryUsage().rss / 2 ** 20;
  await engine.release({ analysisId: s.analysisId });
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 200));
  (globalThis as { gc?: () => void }).gc?.();
  const afterCloseRssMb = process.memoryUsage().rss / 2 ** 20;
  await engine.dispose();
  console.log(
    JSON.stringify({
      n: s.n,
      attentionMb: +heldMb.toFixed(1),
      peakRssMb: +peakRssMb.toFixed(0),
      beforeCloseRssMb: +beforeCloseRssMb.toFixed(0),
      afterCloseRssMb: +afterCloseRssMb.toFixed(0),
    }),
  );
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
