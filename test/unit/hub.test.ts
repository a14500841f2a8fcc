// Downloads through transformers.js from a local server in the Hugging Face hub's URL layout: progress,
// cache hits, cancel and re-download, and servers that fail (404, 500, a truncated file, nobody listening).
import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { DownloadProgress } from '../../src/protocol/messages';
import { EngineClient } from '../../src/host/engine-client';
import { removePartialDownloads } from '../../src/host/partial-downloads';
import { Engine } from '../../src/worker/engine';
import { FIXTURES, SENTENCE } from './fixtures';

type Mode = 'ok' | 'slow' | '404' | '500' | 'truncated';

/** Serves /<org>/<name>/resolve/main/<file> from the fixture folder <name>; the org names the behaviour. */
function hub(): Promise<{ server: Server; url: string; requests: string[]; setMode(m: Mode): void }> {
  const requests: string[] = [];
  let forced: Mode | undefined;
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const m = /^\/([^/]+)\/([^/]+)\/resolve\/main\/(.+)$/.exec(path);
    const file = m && join(FIXTURES, m[2], m[3]);
    const mode = forced ?? (m?.[1] as Mode | undefined);
    if (!m || !file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    if (mode === '500') {
      res.writeHead(500).end('internal error');
      return;
    }
    if (mode === '404' && file.endsWith('.onnx')) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
    if (mode === 'truncated' && file.endsWith('.onnx')) {
      res.write(body.subarray(0, body.length / 2));
      res.destroy();
      return;
    }
    if (mode === 'slow' && file.endsWith('.onnx')) {
      let at = 0;
      const timer = setInterval(() => {
        if (res.destroyed) {
          clearInterval(timer);
          return;
        }
        const next = body.subarray(at, at + 65_536);
        at += next.length;
        if (next.length) res.write(next);
        else {
          clearInterval(timer);
          res.end();
        }
      }, 40);
      return;
    }
    res.end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        server,
        url: `http://127.0.0.1:${port}/`,
        requests,
        setMode: (mode) => {
          forced = mode;
        },
      });
    }),
  );
}

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)));
}

describe('models from a hub (local server, hub URL layout)', function () {
  this.timeout(60_000);
  let h: Awaited<ReturnType<typeof hub>>;
  let cacheDir: string;
  before(async () => {
    h = await hub();
  });
  after(() => h.server.close());
  beforeEach(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'al-cache-'));
    h.requests.length = 0;
    h.setMode(undefined as unknown as Mode);
  });
  afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

  const params = (model: string) => ({
    model,
    dtype: 'fp32' as const,
    text: SENTENCE,
    remoteHost: h.url,
    cacheDir,
    allowRemote: true,
  });

  it('auto on a hub id asks for the dtype files in order and downloads the first there is (q4f16 here)', async () => {
    // A hub repository that ships only 4-bit files: fp32, fp16 and q8 are asked for (HEAD) and missing.
    const name = 'llama-tiny-4bit-only';
    const dir = join(FIXTURES, name);
    rmSync(dir, { recursive: true, force: true });
    cpSync(join(FIXTURES, 'llama-tiny'), dir, { recursive: true });
    rmSync(join(dir, 'onnx', 'model.onnx'));
    rmSync(join(dir, 'onnx', 'model_fp16.onnx'));
    try {
      const engine = new Engine();
      const s = await engine.analyze({ ...params(`ok/${name}`), dtype: 'auto' });
      await engine.dispose();
      assert.equal(s.model.dtype, 'q4f16');
      const asked = h.requests.filter((r) => r.includes('/onnx/')).map((r) => r.split('/').pop());
      assert.deepEqual(asked.slice(0, 4), [
        'model.onnx',
        'model_fp16.onnx',
        'model_quantized.onnx',
        'model_q4f16.onnx',
      ]);
      assert.ok(asked.slice(4).includes('model_q4f16.onnx'), 'then the file itself is downloaded');
      assert.ok(!asked.includes('model_q4.onnx'), 'nothing after the first file there is');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('downloads with progress into the cache, and the second run makes no request', async () => {
    const events: DownloadProgress[] = [];
    const engine = new Engine();
    const s = await engine.analyze(params('ok/bert-tiny'), (e) => events.push(e));
    await engine.dispose();
    assert.equal(s.n, 16);
    const onnx = events.filter((e) => e.file === 'onnx/model.onnx');
    assert.ok(onnx.length >= 1, `progress events: ${JSON.stringify(events.slice(0, 3))}`);
    assert.equal(onnx.at(-1)!.loaded, statSync(join(FIXTURES, 'bert-tiny', 'onnx', 'model.onnx')).size);
    assert.equal(onnx.at(-1)!.total, onnx.at(-1)!.loaded);
    assert.ok(
      files(cacheDir).some((f) => f.endsWith(join('ok', 'bert-tiny', 'onnx', 'model.onnx'))),
      files(cacheDir).join(', '),
    );
    const before = h.requests.length;
    assert.ok(before > 0);
    const again = new Engine();
    const s2 = await again.analyze(params('ok/bert-tiny'));
    await again.dispose();
    assert.equal(s2.n, 16);
    assert.equal(h.requests.length, before, `cache hit: no request (${h.requests.slice(before).join(', ')})`);
  });

  it('a Llama-family model whose weights are in three chunks downloads every file with progress (auto: fp32)', async () => {
    const events: DownloadProgress[] = [];
    const engine = new Engine();
    const s = await engine.analyze({ ...params('ok/llama-tiny-chunked'), dtype: 'auto' }, (e) => events.push(e));
    assert.equal(s.model.dtype, 'fp32');
    assert.deepEqual(s.model.kvHeads, [2, 2]);
    for (const file of [
      'onnx/model.onnx',
      'onnx/model.onnx_data',
      'onnx/model.onnx_data_1',
      'onnx/model.onnx_data_2',
    ]) {
      const last = events.filter((e) => e.file === file).at(-1);
      assert.ok(last, `progress for ${file}: ${[...new Set(events.map((e) => e.file))].join(', ')}`);
      assert.equal(last.loaded, statSync(join(FIXTURES, 'llama-tiny-chunked', file)).size);
    }
    const local = new Engine();
    const r = await local.analyze({
      model: join(FIXTURES, 'llama-tiny'),
      dtype: 'fp32',
      text: SENTENCE,
      allowRemote: false,
    });
    const a = new Float32Array((await engine.slice({ analysisId: s.analysisId, layer: 1, head: 3 })).buffer);
    const b = new Float32Array((await local.slice({ analysisId: r.analysisId, layer: 1, head: 3 })).buffer);
    assert.deepEqual(a, b, 'the same weights as the embedded model');
    await engine.dispose();
    await local.dispose();
  });

  it('a model whose weights are in onnx/model.onnx_data downloads both files with progress, and its attention equals the embedded one', async () => {
    const events: DownloadProgress[] = [];
    const engine = new Engine();
    const s = await engine.analyze(params('ok/bert-tiny-external'), (e) => events.push(e));
    for (const file of ['onnx/model.onnx', 'onnx/model.onnx_data']) {
      const last = events.filter((e) => e.file === file).at(-1);
      assert.ok(last, `progress for ${file}: ${[...new Set(events.map((e) => e.file))].join(', ')}`);
      assert.equal(last.loaded, statSync(join(FIXTURES, 'bert-tiny-external', file)).size);
      assert.ok(
        files(cacheDir).some((f) => f.endsWith(join('bert-tiny-external', file))),
        `${file} cached`,
      );
    }
    const reference = new Engine();
    const r = await reference.analyze({ ...params('ok/bert-tiny'), remoteHost: h.url });
    for (const [layer, head] of [
      [0, 1],
      [1, 3],
    ]) {
      const a = new Float32Array((await engine.slice({ analysisId: s.analysisId, layer, head })).buffer);
      const b = new Float32Array((await reference.slice({ analysisId: r.analysisId, layer, head })).buffer);
      assert.deepEqual(a, b, `layer ${layer} head ${head}`);
    }
    await engine.dispose();
    await reference.dispose();
  });

  it('a download cancelled midway leaves no file a later run would trust, and downloads cleanly again', async () => {
    const client = new EngineClient(join(__dirname, '..', '..', 'dist', 'worker.js'));
    let cancelled = false;
    const reported = new Set<string>();
    const run = client.call('analyze', params('slow/bert-tiny'), (e) => {
      if (!('file' in e)) return;
      reported.add(e.file);
      if (!cancelled && e.file === 'onnx/model.onnx' && e.loaded > 0 && e.loaded < e.total) {
        cancelled = true;
        void client.restart('download cancelled');
      }
    });
    const pid = client.pid;
    await assert.rejects(run, (e: { code: string }) => e.code === 'cancelled');
    assert.ok(cancelled);
    assert.ok(
      !files(cacheDir).some((f) => f.endsWith(join('onnx', 'model.onnx'))),
      `no complete-looking model file: ${files(cacheDir).join(', ')}`,
    );
    // The killed process left its temporary file; the host removes exactly that one.
    await new Promise((r) => setTimeout(r, 100));
    const partial = files(cacheDir).filter((f) => f.includes(`.tmp.${pid}.`));
    assert.equal(partial.length, 1, files(cacheDir).join(', '));
    assert.deepEqual(
      (await removePartialDownloads(cacheDir, 'slow/bert-tiny', reported, pid)).map((p) =>
        p.slice(cacheDir.length + 1),
      ),
      partial,
    );
    assert.ok(!files(cacheDir).some((f) => f.includes('.tmp.')));
    h.setMode('ok');
    const s = await client.call('analyze', params('slow/bert-tiny'));
    assert.equal(s.n, 16);
    const cached = files(cacheDir).find((f) => f.endsWith(join('onnx', 'model.onnx')))!;
    assert.equal(
      statSync(join(cacheDir, cached)).size,
      statSync(join(FIXTURES, 'bert-tiny', 'onnx', 'model.onnx')).size,
    );
    await client.dispose();
  });

  for (const [mode, code, pattern] of [
    ['404', 'model-not-found', /404|not found|locate/i],
    ['500', 'bad-model', /500|Internal/i],
    ['truncated', 'offline', /interrupted/i],
  ] as const) {
    it(`a server answering ${mode} gives a clear ${code} error and caches nothing under the model's name`, async () => {
      const engine = new Engine();
      await assert.rejects(engine.analyze(params(`${mode}/bert-tiny`)), (e: { code: string; message: string }) => {
        assert.equal(e.code, code, e.message);
        assert.match(e.message, pattern);
        assert.match(e.message, /bert-tiny/);
        return true;
      });
      await engine.dispose();
      assert.ok(!files(cacheDir).some((f) => f.endsWith('.onnx')), files(cacheDir).join(', '));
    });
  }

  it('an unknown model id is reported as not found', async () => {
    const engine = new Engine();
    await assert.rejects(
      engine.analyze(params('ok/no-such-model')),
      (e: { code: string; message: string }) => e.code === 'model-not-found' && /no-such-model/.test(e.message),
    );
    await engine.dispose();
  });

  it('offline and not cached: a clear message, no request; a host nobody listens on: offline', async () => {
    const engine = new Engine();
    await assert.rejects(
      engine.analyze({ ...params('ok/bert-tiny'), allowRemote: false }),
      (e: { code: string; message: string }) =>
        e.code === 'model-not-found' && /bert-tiny.*not in the cache/.test(e.message),
    );
    assert.equal(h.requests.length, 0);
    await assert.rejects(
      engine.analyze({ ...params('ok/bert-tiny'), remoteHost: 'http://127.0.0.1:9/' }),
      (e: { code: string; message: string }) => e.code === 'offline' && /cannot be reached/.test(e.message),
    );
    await engine.dispose();
  });
});
