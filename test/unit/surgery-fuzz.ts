// Seeded mutations of ONNX files for fuzzing graph surgery: shared by the unit test (CI size) and
// scripts/fuzz-surgery.ts (the bigger run).
import { EngineError } from '../../src/protocol/rpc';
import { exposeAttention } from '../../src/worker/graph-surgery';
import { seededRandom } from '../../src/worker/seeded-random';

/** A small deterministic PRNG (the engine's own). */
export const prng = seededRandom;

/** One mutated copy: truncation, byte flips (mostly in the graph structure near the start), insertions, deletions. */
export function mutate(original: Uint8Array, random: () => number): { bytes: Uint8Array; how: string } {
  const pick = (n: number) => Math.floor(random() * n);
  const head = Math.min(original.length, 32_768);
  switch (pick(5)) {
    case 0: {
      const at = pick(original.length);
      return { bytes: original.slice(0, at), how: `truncated at ${at}` };
    }
    case 1:
    case 2: {
      const bytes = original.slice();
      const flips = 1 + pick(16);
      for (let k = 0; k < flips; k++) bytes[pick(head)] = pick(256);
      return { bytes, how: `${flips} byte(s) changed in the first ${head}` };
    }
    case 3: {
      const at = pick(head);
      const insert = Uint8Array.from({ length: 1 + pick(8) }, () => pick(256));
      const bytes = new Uint8Array(original.length + insert.length);
      bytes.set(original.subarray(0, at));
      bytes.set(insert, at);
      bytes.set(original.subarray(at), at + insert.length);
      return { bytes, how: `${insert.length} byte(s) inserted at ${at}` };
    }
    default: {
      const at = pick(head);
      const len = 1 + pick(32);
      const bytes = new Uint8Array(original.length - Math.min(len, original.length - at));
      bytes.set(original.subarray(0, at));
      bytes.set(original.subarray(at + len), at);
      return { bytes, how: `${len} byte(s) deleted at ${at}` };
    }
  }
}

/** Outcome counts of fuzzing; `bad` lists cases that threw something other than the engine's typed error or took too long. */
export interface FuzzReport {
  ok: number;
  typed: Record<string, number>;
  bad: string[];
  slowestMs: number;
}

/** Runs `count` mutated copies of each file through graph surgery. */
export function fuzzSurgery(
  files: { name: string; bytes: Uint8Array }[],
  count: number,
  seed: number,
  boundMs: number,
): FuzzReport {
  const random = prng(seed);
  const report: FuzzReport = { ok: 0, typed: {}, bad: [], slowestMs: 0 };
  for (let i = 0; i < count; i++) {
    const file = files[i % files.length];
    const { bytes, how } = mutate(file.bytes, random);
    const t0 = performance.now();
    try {
      exposeAttention(bytes, file.name);
      report.ok++;
    } catch (error) {
      if (error instanceof EngineError) report.typed[error.code] = (report.typed[error.code] ?? 0) + 1;
      else
        report.bad.push(
          `${file.name} #${i} (${how}): ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`,
        );
    }
    const ms = performance.now() - t0;
    report.slowestMs = Math.max(report.slowestMs, ms);
    if (ms > boundMs) report.bad.push(`${file.name} #${i} (${how}): took ${ms.toFixed(0)} ms`);
  }
  return report;
}
