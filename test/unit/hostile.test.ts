// Hostile folders and impatient users (issue 20): each row of the README's "what happens when…" table that a
// workspace or a Cancel can cause. The crash rows run the engine in its own process and check the host survives.
import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { EngineClient } from '../../src/host/engine-client';
import { removePartialDownloads } from '../../src/host/partial-downloads';
import { Engine } from '../../src/worker/engine';
import { FIXTURES, SENTENCE } from './fixtures';

const WORKER = join(__dirname, '..', '..', 'dist', 'worker.js');

/** A copy of a fixture model in a fresh temporary folder. */
function copyModel(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'al-hostile-'));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

function editJson(file: string, edit: (j: Record<string, unknown>) => void): void {
  const j = JSON.parse(readFileSync(file, 'utf8'));
  edit(j);
  writeFileSync(file, JSON.stringify(j));
}

const rejectsWith = async (p: Promise<unknown>, code: string, pattern: RegExp) =>
  assert.rejects(p, (e: { code: string; message: string }) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /\n\s+at /, 'no stack trace');
    return true;
  });

describe('hostile folders and impatient users', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  const tmpModel = (name: string) => {
    const d = copyModel(name);
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('row 1: config.json with num_hidden_layers 1e9 gives a typed error to the status bar count, no allocation', async () => {
    const dir = tmpModel('bert-tiny');
    editJson(join(dir, 'config.json'), (c) => {
      c.num_hidden_layers = 1e9;
    });
    const engine = new Engine();
    await rejectsWith(
      engine.countTokens({ model: dir, dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      'bad-model',
      /num_hidden_layers = 1000000000, outside the range 1–1,000/,
    );
    await rejectsWith(
      engine.analyze({ model: dir, dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      'bad-model',
      /num_hidden_layers/,
    );
    await engine.dispose();
  });

  it('row 2: Cancel during model load / surgery / session creation kills only the engine process, 8 times; the next run works', async () => {
    const client = new EngineClient(WORKER);
    const model = join(FIXTURES, 'gpt2-tiny-merged');
    for (let i = 0; i < 8; i++) {
      const run = client.call('analyze', { model, dtype: 'fp32', text: SENTENCE, allowRemote: false });
      assert.equal(client.isWarm({ model, dtype: 'fp32', text: '', allowRemote: false }), false);
      // Spread the cancels over the load: right away, and a little later (inside transformers.js / onnxruntime).
      await new Promise((r) => setTimeout(r, 40 * i));
      await client.restart('cancelled');
      await assert.rejects(run, (e: { code: string }) => e.code === 'cancelled' || e.code === 'worker-died');
    }
    const s = await client.call('analyze', { model, dtype: 'fp32', text: SENTENCE, allowRemote: false });
    assert.equal(s.tokens[0].id, 464);
    assert.equal(client.isWarm({ model, dtype: 'fp32', text: '', allowRemote: false }), true);
    await client.dispose();
  });

  it('row 2: a native abort in the engine fails the pending call, reports the crash, and the next call restarts it', async () => {
    const crashes: string[] = [];
    const client = new EngineClient(WORKER, { onCrash: (m) => crashes.push(m) });
    const model = join(FIXTURES, 'bert-tiny');
    await client.call('analyze', { model, dtype: 'fp32', text: SENTENCE, allowRemote: false });
    const pid = client.pid!;
    const run = client.call('analyze', { model, dtype: 'fp32', text: SENTENCE.repeat(8), allowRemote: false });
    process.kill(pid, 'SIGABRT');
    await rejectsWith(run, 'worker-died', /stopped \(signal SIGABRT\)/);
    assert.deepEqual(crashes, ['signal SIGABRT']);
    const s = await client.call('analyze', { model, dtype: 'fp32', text: SENTENCE, allowRemote: false });
    assert.notEqual(client.pid, pid);
    assert.equal(s.tokens[0].text, '[CLS]');
    await client.dispose();
  });

  it("row 3: a cancelled download removes only that engine's temporary files of the files it reported, never walking the folder", async () => {
    const cache = mkdtempSync(join(tmpdir(), 'al-cache-'));
    dirs.push(cache);
    const put = (p: string) => {
      mkdirSync(join(cache, p, '..'), { recursive: true });
      writeFileSync(join(cache, p), 'x');
    };
    const mine = 'org/model/onnx/model.onnx.tmp.4242.k3j9';
    const keep = [
      'org/model/onnx/model.onnx.tmp.999.abc',
      'org/model/onnx/model.onnx',
      'docs/report.tmp.2024.pdf',
      'deep/a/b/data.tmp.7.json',
      'org/model/config.json.tmp.4242.zz',
    ];
    for (const p of [mine, ...keep]) put(p);
    const removed = await removePartialDownloads(
      cache,
      'org/model',
      ['onnx/model.onnx', 'onnx/model.onnx', '../../../etc/passwd'],
      4242,
    );
    assert.deepEqual(removed, [join(cache, mine)]);
    assert.ok(!existsSync(join(cache, mine)));
    for (const p of keep) assert.ok(existsSync(join(cache, p)), `${p} kept`);
    assert.deepEqual(
      await removePartialDownloads('/', 'x', ['a'], 4242),
      [],
      'a cache of / removes nothing it did not write',
    );
    assert.deepEqual(
      await removePartialDownloads(cache, '/abs/folder', ['onnx/model.onnx'], 4242),
      [],
      'a local folder was never downloaded',
    );
  });

  it('row 4: a tokenizer whose regex backtracks for minutes times out, the engine restarts, and the next count works', async () => {
    const dir = tmpModel('bert-tiny');
    editJson(join(dir, 'tokenizer.json'), (t) => {
      t.pre_tokenizer = { type: 'Split', pattern: { Regex: '([a-z]+)+#' }, behavior: 'Isolated', invert: false };
    });
    const client = new EngineClient(WORKER, { timeouts: { countTokens: 3_000 } });
    const started = Date.now();
    await rejectsWith(
      client.call('countTokens', { model: dir, dtype: 'fp32', text: 'a'.repeat(40), allowRemote: false }),
      'timeout',
      /countTokens did not answer within 3000 ms/,
    );
    assert.ok(Date.now() - started < 10_000);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(client.running, false, 'the hung engine was killed');
    const ok = await client.call('countTokens', {
      model: join(FIXTURES, 'bert-tiny'),
      dtype: 'fp32',
      text: 'hello world',
      allowRemote: false,
    });
    assert.equal(ok.count, 4);
    await client.dispose();
  });

  it('rows 4 and 8: tokenizer.json linked to /dev/zero, config.json linked to a secrets file, model.onnx a folder: typed errors, nothing read or quoted', async () => {
    const engine = new Engine();
    const zero = tmpModel('bert-tiny');
    rmSync(join(zero, 'tokenizer.json'));
    symlinkSync('/dev/zero', join(zero, 'tokenizer.json'));
    await rejectsWith(
      engine.countTokens({ model: zero, dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      'bad-model',
      /tokenizer\.json in the model folder links outside it/,
    );

    const secretDir = mkdtempSync(join(tmpdir(), 'al-secret-'));
    dirs.push(secretDir);
    writeFileSync(join(secretDir, 'secrets.txt'), 'AWS_SECRET=hunter2hunter2');
    const linked = tmpModel('bert-tiny');
    rmSync(join(linked, 'config.json'));
    symlinkSync(join(secretDir, 'secrets.txt'), join(linked, 'config.json'));
    await assert.rejects(
      engine.analyze({ model: linked, dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      (e: { code: string; message: string }) => {
        assert.equal(e.code, 'bad-model');
        assert.match(e.message, /config\.json in the model folder links outside it/);
        assert.doesNotMatch(e.message, /hunter2|AWS_SECRET/);
        return true;
      },
    );

    const notJson = tmpModel('bert-tiny');
    writeFileSync(join(notJson, 'config.json'), 'AWS_SECRET=hunter2hunter2');
    await assert.rejects(
      engine.analyze({ model: notJson, dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      (e: { code: string; message: string }) => {
        assert.equal(e.code, 'bad-model');
        assert.match(e.message, /config\.json .* not valid JSON/);
        assert.doesNotMatch(e.message, /hunter2|AWS_SECRET/);
        return true;
      },
    );

    const folder = tmpModel('bert-tiny');
    rmSync(join(folder, 'onnx', 'model.onnx'));
    mkdirSync(join(folder, 'onnx', 'model.onnx'));
    await rejectsWith(
      engine.analyze({ model: folder, dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      'bad-model',
      /onnx\/model\.onnx in the model folder is a folder/,
    );
    await engine.dispose();
  });

  it('row 5: a graph with 10,000 attention Softmax nodes is refused by surgery with a typed error', async () => {
    const dir = tmpModel('bert-tiny');
    const file = join(dir, 'onnx', 'model.onnx');
    const model = onnx.ModelProto.decode(readFileSync(file));
    const g = model.graph!;
    const softmax = g.node!.find((n) => n.opType === 'Softmax')!;
    const consumer = g.node!.find((n) => n.input?.includes(softmax.output![0]))!;
    // 10,000 copies of the first layer's Softmax, each feeding its own probs·V product.
    for (let i = 0; i < 10_000; i++) {
      g.node!.push(onnx.NodeProto.create({ ...softmax, name: `extra_softmax_${i}`, output: [`extra_probs_${i}`] }));
      g.node!.push(
        onnx.NodeProto.create({
          ...consumer,
          name: `extra_pv_${i}`,
          input: consumer.input!.map((x) => (x === softmax.output![0] ? `extra_probs_${i}` : x)),
          output: [`extra_ctx_${i}`],
        }),
      );
    }
    writeFileSync(file, onnx.ModelProto.encode(model).finish());
    const engine = new Engine();
    await rejectsWith(
      engine.analyze({ model: dir, dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      'bad-model',
      /10002 attention layers, more than the 1000/,
    );
    await engine.dispose();
  });

  it('row 5: an engine whose memory passes the limit is stopped with over-budget, and the host carries on', async () => {
    const client = new EngineClient(WORKER, { memoryLimitBytes: 64 * 2 ** 20 });
    await rejectsWith(
      client.call('analyze', { model: join(FIXTURES, 'bert-tiny'), dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      'over-budget',
      /over the 64\.0 MiB limit, and was stopped/,
    );
    assert.equal(client.running, false);
    await client.dispose();
  });

  it('row 6: external data resolves next to the .onnx file only: onnx/model.onnx_data loads; a file in the working directory does not', async () => {
    const dir = tmpModel('bert-tiny');
    const file = join(dir, 'onnx', 'model.onnx');
    const model = onnx.ModelProto.decode(readFileSync(file));
    // Move every big initializer to model.onnx_data, as the hub's external-data exports do.
    const chunks: Buffer[] = [];
    let offset = 0;
    for (const t of model.graph!.initializer!) {
      const raw = t.rawData;
      if (!raw || raw.length < 1024) continue;
      chunks.push(Buffer.from(raw));
      t.rawData = new Uint8Array(0);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        { key: 'location', value: 'model.onnx_data' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.length) },
      ];
      offset += raw.length;
    }
    assert.ok(chunks.length > 3, 'weights moved out');
    writeFileSync(file, onnx.ModelProto.encode(model).finish());
    writeFileSync(join(dir, 'onnx', 'model.onnx_data'), Buffer.concat(chunks));
    const engine = new Engine();
    const reference = new Engine();
    try {
      const s = await engine.analyze({ model: dir, dtype: 'fp32', text: SENTENCE, allowRemote: false });
      const r = await reference.analyze({
        model: join(FIXTURES, 'bert-tiny'),
        dtype: 'fp32',
        text: SENTENCE,
        allowRemote: false,
      });
      for (let l = 0; l < 2; l++) {
        const a = new Float32Array((await engine.slice({ analysisId: s.analysisId, layer: l, head: 1 })).buffer);
        const b = new Float32Array((await reference.slice({ analysisId: r.analysisId, layer: l, head: 1 })).buffer);
        assert.deepEqual(a, b, `layer ${l}: external weights give the embedded weights' attention`);
      }
    } finally {
      await engine.dispose();
    }
    // Now the weights file sits in the process's working directory instead of the model folder.
    const cwd = process.cwd();
    const work = mkdtempSync(join(tmpdir(), 'al-cwd-'));
    dirs.push(work);
    cpSync(join(dir, 'onnx', 'model.onnx_data'), join(work, 'model.onnx_data'));
    rmSync(join(dir, 'onnx', 'model.onnx_data'));
    process.chdir(work);
    const again = new Engine();
    try {
      await rejectsWith(
        again.analyze({ model: dir, dtype: 'fp32', text: SENTENCE, allowRemote: false }),
        'bad-model',
        /external weights could not be read/,
      );
    } finally {
      process.chdir(cwd);
      await again.dispose();
      await reference.dispose();
    }
  });

  it('row 9: use_external_data_format without the data file, and a token id outside the embedding: typed errors', async () => {
    const engine = new Engine();
    const ext = tmpModel('bert-tiny');
    editJson(join(ext, 'config.json'), (c) => {
      c['transformers.js_config'] = { use_external_data_format: true };
    });
    await rejectsWith(
      engine.analyze({ model: ext, dtype: 'fp32', text: SENTENCE, allowRemote: false }),
      'bad-model',
      /model\.onnx_data/,
    );
    const ids = tmpModel('bert-tiny');
    editJson(join(ids, 'tokenizer.json'), (t) => {
      (t.model as { vocab: Record<string, number> }).vocab.hello = 400_000;
    });
    await rejectsWith(
      engine.analyze({ model: ids, dtype: 'fp32', text: 'hello world', allowRemote: false }),
      'bad-model',
      /token id is outside the model's embedding table/,
    );
    await engine.dispose();
  });

  it('a missing model folder gets one message from the count (status bar) and from an analysis (panel)', async () => {
    const engine = new Engine();
    const missing = join(tmpdir(), 'al-no-such-model-folder');
    const says = /^The model folder .*al-no-such-model-folder does not exist\.$/;
    await rejectsWith(
      engine.countTokens({ model: missing, dtype: 'fp32', text: 'x', allowRemote: false }),
      'model-not-found',
      says,
    );
    await rejectsWith(
      engine.analyze({ model: missing, dtype: 'fp32', text: 'x', allowRemote: false }),
      'model-not-found',
      says,
    );
    await engine.dispose();
  });

  it('row 11: Export JSON of every layer × head is written by the engine, streamed, equal to the slices', async () => {
    const engine = new Engine();
    const s = await engine.analyze({
      model: join(FIXTURES, 'gpt2-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
    });
    const out = join(mkdtempSync(join(tmpdir(), 'al-export-')), 'all.json');
    dirs.push(join(out, '..'));
    const { bytes } = await engine.exportJson({
      analysisId: s.analysisId,
      path: out,
      scope: 'all',
      layer: 0,
      head: 0,
      source: 'test.txt:1',
    });
    const json = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(bytes, readFileSync(out).length);
    assert.deepEqual(Object.keys(json), ['model', 'source', 'n', 'tokens', 'attentions']);
    assert.equal(json.model.dtype, 'fp32');
    assert.equal(json.n, s.n);
    for (const [l, h] of [
      [0, 1],
      [1, 3],
    ]) {
      const m = new Float32Array((await engine.slice({ analysisId: s.analysisId, layer: l, head: h })).buffer);
      for (let i = 0; i < s.n; i++)
        for (let j = 0; j < s.n; j++) assert.ok(Math.abs(json.attentions[l][h][i][j] - m[i * s.n + j]) < 1e-6);
    }
    await rejectsWith(
      engine.exportJson({
        analysisId: s.analysisId,
        path: 'relative.json',
        scope: 'view',
        layer: 0,
        head: 0,
        source: '',
      }),
      'bad-input',
      /absolute/,
    );
    await engine.dispose();
  });
});
