// `npm run fuzz [-- count seed]`: the bigger graph-surgery fuzz run over every fixture model (the unit suite runs 500).
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fuzzSurgery } from '../test/unit/surgery-fuzz';

const models = join(__dirname, '..', 'test', 'fixtures', 'models');
const count = Number(process.argv[2] ?? 5000);
const seed = Number(process.argv[3] ?? 1);
const files = readdirSync(models)
  .filter((m) => m !== 'bert-base-shaped')
  .flatMap((m) => {
    const dir = join(models, m, 'onnx');
    return existsSync(dir)
      ? readdirSync(dir).map((f) => ({ name: `${m}/${f}`, bytes: new Uint8Array(readFileSync(join(dir, f))) }))
      : [];
  });
const t0 = performance.now();
const report = fuzzSurgery(files, count, seed, 5_000);
console.log(
  `${count} mutated copies of ${files.length} fixture files (seed ${seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
console.log(
  `succeeded: ${report.ok}; typed errors: ${JSON.stringify(report.typed)}; slowest: ${report.slowestMs.toFixed(0)} ms`,
);
if (report.bad.length) {
  console.log(`${report.bad.length} bad case(s):\n${report.bad.slice(0, 20).join('\n')}`);
  process.exit(1);
}
