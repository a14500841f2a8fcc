// `attention-lens analyze …`: the same engine as the extension, without VS Code, for scripts and tests.
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DTYPES, isDtypeChoice } from '../protocol/dtypes';
import type { AnalysisSummary, GenerateReply } from '../protocol/messages';
import { once } from 'node:events';
import { attentionJsonChunks } from '../protocol/attention-json';
import { continuationText, truncationNote } from '../protocol/format';
import { EngineError } from '../protocol/rpc';
import { longViewJson } from './long-cli';
import { Engine } from '../worker/engine';
import { runSeq2Seq } from './seq2seq-cli';

const USAGE =
  'usage: attention-lens analyze --model <hub id | folder> (--text "<text>" | --file <path>) [--dtype auto|fp32|fp16|q8|int8|uint8|q4|q4f16|bnb4] ' +
  '[--layer L --head H | --all | --rollout [--layer L]] [--rank-heads <query-index> <key-index>] ' +
  '[--row Q] [--overview B] [--mode auto|full|long] [--max-tokens N] ' +
  '[--generate [N] [--temperature T --top-k K --seed S --stop TEXT…]] [--target TEXT] [--family encoder|decoder|cross] [--source-lang CODE --target-lang CODE] [--json] [--remote-host <url>] [--cache-dir <dir>] [--offline]';

/** Exit with a one-line message, never a stack trace, for user errors. */
function fail(message: string, code = 1): never {
  process.stderr.write(`attention-lens: ${message}\n`);
  process.exit(code);
}

function intArg(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) fail(`--${name} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  // --rank-heads takes two values, which parseArgs cannot express: take them out first.
  const rest = [...args];
  let rankPair: [number, number] | undefined;
  const at = rest.indexOf('--rank-heads');
  if (at >= 0) {
    const [q, k] = rest.splice(at, 3).slice(1);
    rankPair = [intArg(q, 'rank-heads query index') ?? -1, intArg(k, 'rank-heads key index') ?? -1];
    if (q === undefined || k === undefined) fail(`--rank-heads needs two token indices. ${USAGE}`);
  }
  if (command !== 'analyze') fail(command ? `unknown command "${command}". ${USAGE}` : USAGE);
  const options = {
    model: { type: 'string' },
    text: { type: 'string' },
    file: { type: 'string' },
    dtype: { type: 'string' },
    layer: { type: 'string' },
    head: { type: 'string' },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
    rollout: { type: 'boolean' },
    'remote-host': { type: 'string' },
    'cache-dir': { type: 'string' },
    offline: { type: 'boolean' },
    generate: { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    seed: { type: 'string' },
    stop: { type: 'string', multiple: true },
    target: { type: 'string' },
    family: { type: 'string' },
    'source-lang': { type: 'string' },
    'target-lang': { type: 'string' },
    row: { type: 'string' },
    overview: { type: 'string' },
    mode: { type: 'string' },
    'max-tokens': { type: 'string' },
  } as const;
  // --generate may come without a count (32 then): parseArgs needs a value.
  const g = rest.indexOf('--generate');
  if (g >= 0 && (g === rest.length - 1 || rest[g + 1].startsWith('--'))) rest.splice(g + 1, 0, '32');
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof options }>>['values'];
  try {
    ({ values } = parseArgs({ args: rest, options }));
  } catch (error) {
    fail(`${(error as Error).message}. ${USAGE}`);
  }
  if (!values.model) fail(`--model is required. ${USAGE}`);
  if ((values.text === undefined) === (values.file === undefined))
    fail(`give exactly one of --text or --file. ${USAGE}`);
  const dtype = values.dtype ?? 'auto';
  if (!isDtypeChoice(dtype)) fail(`--dtype must be auto or one of ${DTYPES.join(', ')}, got "${values.dtype}"`);
  let text = values.text ?? '';
  if (values.file !== undefined) {
    if (!existsSync(values.file) || !statSync(values.file).isFile()) fail(`no such file: ${values.file}`);
    text = readFileSync(values.file, 'utf8');
  }
  const model = existsSync(values.model) ? resolve(values.model) : values.model;
  const layerArg = intArg(values.layer, 'layer');
  const head = intArg(values.head, 'head') ?? 0;
  if (values.rollout && (values.all || values.head !== undefined)) fail(`--rollout goes with --layer only. ${USAGE}`);
  const newTokens = intArg(values.generate, 'generate');
  const temperature = values.temperature === undefined ? undefined : Number(values.temperature);
  if (temperature !== undefined && !(temperature >= 0 && temperature <= 10))
    fail(`--temperature must be a number from 0 (greedy) to 10, got "${values.temperature}"`);
  if (newTokens === undefined && (values.temperature ?? values['top-k'] ?? values.seed ?? values.stop) !== undefined)
    fail(`--temperature, --top-k, --seed and --stop go with --generate. ${USAGE}`);

  const row = intArg(values.row, 'row');
  const overview = intArg(values.overview, 'overview');
  if (overview === 0) fail('--overview needs a block size of at least 1.');
  const mode = values.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'full' && mode !== 'long') fail(`--mode must be auto, full or long, got "${mode}"`);
  if (
    (row !== undefined || overview !== undefined) &&
    (values.all || values.rollout || rankPair || newTokens !== undefined)
  )
    fail(`--row and --overview show one head (--layer L --head H) of an analysis. ${USAGE}`);
  const engine = new Engine();
  try {
    const request = {
      model,
      dtype,
      text,
      mode: mode as 'auto' | 'full' | 'long',
      maxTokens: intArg(values['max-tokens'], 'max-tokens'),
      remoteHost: values['remote-host'],
      cacheDir: values['cache-dir'],
      allowRemote: !values.offline,
    };
    // An encoder–decoder translates the text (or reads --target): three families of maps (seq2seq-cli.ts).
    const family = values.family ?? 'cross';
    if (family !== 'encoder' && family !== 'decoder' && family !== 'cross')
      fail(`--family must be encoder, decoder or cross, got "${values.family}"`);
    if (await engine.isEncoderDecoder(request)) {
      if (values.rollout || rankPair || values.temperature !== undefined || values.stop)
        fail('--rollout, --rank-heads, --temperature and --stop are for decoder-only models.');
      if (values.target !== undefined && newTokens !== undefined) fail('give --target or --generate, not both.');
      const out = await runSeq2Seq(
        engine,
        { ...request, dtype: dtype as never },
        {
          target: values.target,
          sourceLanguage: values['source-lang'],
          targetLanguage: values['target-lang'],
          newTokens,
          family,
          layer: layerArg ?? 0,
          head,
          all: !!values.all,
          json: !!values.json,
          source: values.file ?? '--text',
        },
        fail,
      );
      process.stdout.write(out);
      return;
    }
    if (values.target !== undefined || values.family !== undefined)
      fail('--target and --family are for encoder–decoder models (T5, Marian, BART …).');
    if (values['source-lang'] !== undefined || values['target-lang'] !== undefined)
      fail('--source-lang and --target-lang are for translators (M2M100, NLLB, mBART-50).');
    // --generate: the model continues the text; the analysis covers prompt + continuation.
    const summary: AnalysisSummary | GenerateReply =
      newTokens === undefined
        ? await engine.analyze(request)
        : await engine.generate({
            ...request,
            maxNewTokens: newTokens,
            temperature,
            topK: intArg(values['top-k'], 'top-k'),
            seed: intArg(values.seed, 'seed'),
            stopSequences: values.stop,
          });
    if (row !== undefined || overview !== undefined) {
      if (row !== undefined && row >= summary.n) fail(`--row must be below ${summary.n} (the number of tokens).`);
      const json = await longViewJson(engine, summary, {
        layer: layerArg ?? 0,
        head,
        row,
        overview,
        source: values.file ?? '--text',
      });
      process.stdout.write(`${json}\n`);
      return;
    }
    // --rollout: through --layer, or the last layer by default.
    const layer = layerArg ?? (values.rollout ? summary.model.layers - 1 : 0);
    const selector = values.rollout ? ('rollout' as const) : head;
    if (rankPair?.some((i) => i >= summary.n))
      fail(`--rank-heads token indices must be below ${summary.n} (the number of tokens).`);
    const ranking = rankPair
      ? (
          await engine.rankHeads({
            analysisId: summary.analysisId,
            by: { kind: 'pair', query: rankPair[0], key: rankPair[1] },
          })
        ).heads
      : undefined;
    if (values.json) {
      const req = {
        scope: values.all ? ('all' as const) : ('view' as const),
        layer,
        head: selector,
        source: values.file ?? '--text',
        ranking,
      };
      for await (const chunk of attentionJsonChunks(
        summary,
        req,
        async (l, h) => (await engine.slice({ analysisId: summary.analysisId, layer: l, head: h })).buffer,
      )) {
        if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
      }
      process.stdout.write('\n');
    } else if (ranking) {
      const name = (i: number) => JSON.stringify(summary.tokens[i].text);
      const lines = [
        `heads ranked by attention from ${name(rankPair![0])} (token ${rankPair![0]}) to ${name(rankPair![1])} (token ${rankPair![1]}):`,
      ];
      for (const h of ranking.slice(0, 10))
        lines.push(`  layer ${h.layer} head ${h.head}: ${(h.weight * 100).toFixed(1)}%`);
      process.stdout.write(`${lines.join('\n')}\n`);
    } else {
      const s = await engine.slice({ analysisId: summary.analysisId, layer, head: selector });
      if ('generated' in summary)
        process.stdout.write(`continuation: ${JSON.stringify(continuationText(summary))} (${summary.stoppedBy})\n`);
      process.stdout.write(table(summary, new Float32Array(s.buffer), layer, values.rollout ? 'rollout' : head));
    }
  } finally {
    await engine.dispose();
  }
}

function table(s: AnalysisSummary, m: Float32Array, layer: number, head: number | 'rollout'): string {
  const n = s.n;
  const label = (i: number) => JSON.stringify(s.tokens[i].text);
  const width = Math.min(24, Math.max(...s.tokens.map((_, i) => label(i).length)));
  const lines = [
    `${s.model.id} (${s.model.kind}, ${s.model.layers} layers, heads ${s.model.heads.join('/')}) — ${head === 'rollout' ? `rollout through layer ${layer}` : `layer ${layer}, head ${head}`}, ${n} tokens` +
      (s.truncated ? `\n${truncationNote(s)}` : ''),
    `${'token'.padEnd(width)}  attends most to`,
  ];
  for (let i = 0; i < n; i++) {
    const row = Array.from(m.subarray(i * n, (i + 1) * n), (w, j) => ({ w, j }))
      .sort((a, b) => b.w - a.w)
      .slice(0, 3);
    lines.push(
      `${label(i).padEnd(width)}  ${row.map(({ w, j }) => `${label(j)} ${(w * 100).toFixed(1)}%`).join('  ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof EngineError) {
    // The command line's way forward for the engine's neutral wording.
    const hint = error.code === 'model-not-found' && /downloads are off/.test(error.message) ? ' (drop --offline)' : '';
    fail(`${error.message}${hint}`);
  }
  fail(error instanceof Error ? error.message : String(error), 2);
});
