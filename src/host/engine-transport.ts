// How the engine runs: in a child process (the default) or in a worker thread (kept for benchmarks comparing the two).
// A process is what makes the engine safe to kill: terminating a worker thread while onnxruntime-node is inside a
// native call aborts the WHOLE extension host (measured 8/8 on Node 20 and 24), and a native abort or an
// out-of-memory in a thread takes every extension with it. In a process they cost only the engine.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { ReplyMessage } from '../protocol/messages';

/** Where the engine runs. `ATTENTION_LENS_ENGINE=thread` selects the worker thread (benchmarks only). */
export type EngineMode = 'process' | 'thread';

/** The mode from the environment: a process unless `ATTENTION_LENS_ENGINE=thread`. */
export function engineModeFromEnv(env: NodeJS.ProcessEnv = process.env): EngineMode {
  return env.ATTENTION_LENS_ENGINE === 'thread' ? 'thread' : 'process';
}

/** A running engine: post requests, hear replies and its end, kill it. */
export interface EngineTransport {
  readonly mode: EngineMode;
  /** The process id of a process engine (its temporary download files carry it). */
  readonly pid: number | undefined;
  post(message: unknown): void;
  /** Kills the engine now; `onExit` still fires. */
  kill(): void;
  /** Keeps the host alive while calls are pending, and lets it exit when idle. */
  setBusy(busy: boolean): void;
  /** Resident memory of the engine in bytes, where the OS tells (Linux); undefined elsewhere. */
  rssBytes(): number | undefined;
}

/** What the transport reports. */
export interface TransportEvents {
  onMessage(reply: ReplyMessage): void;
  /** The engine ended; `reason` says how (exit code, signal or error). */
  onExit(reason: string): void;
  /** A line the engine wrote on stderr (onnxruntime's native messages land there). */
  onStderr?(line: string): void;
}

/** Starts the engine entry (`dist/worker.js`) in the given mode. */
export function startEngine(entry: string, mode: EngineMode, events: TransportEvents): EngineTransport {
  return mode === 'thread' ? startThread(entry, events) : startProcess(entry, events);
}

function startProcess(entry: string, events: TransportEvents): EngineTransport {
  // ELECTRON_RUN_AS_NODE: in desktop VS Code process.execPath is Electron, which must behave as plain Node here.
  // 'advanced' serialization keeps ArrayBuffers binary across the pipe (JSON would turn them into objects).
  const child = fork(entry, [], {
    serialization: 'advanced',
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    execArgv: [],
  });
  let ended = false;
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    events.onExit(reason);
  };
  child.on('message', (m) => events.onMessage(m as ReplyMessage));
  child.on('exit', (code, signal) => end(signal ? `signal ${signal}` : `exit code ${code}`));
  child.on('error', (error) => end(error.message));
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const lines = (tail + chunk).split('\n');
    tail = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) events.onStderr?.(line);
  });
  return {
    mode: 'process',
    pid: child.pid,
    post: (m) => {
      if (!child.connected) throw new Error('the engine process is not running');
      child.send(m as never);
    },
    kill: () => {
      child.kill('SIGKILL');
    },
    setBusy: (busy) => {
      const handles = [child, child.stderr, child.channel] as ({ ref(): void; unref(): void } | null | undefined)[];
      for (const h of handles) if (h) busy ? h.ref() : h.unref();
    },
    rssBytes: () => procRss(child.pid),
  };
}

function startThread(entry: string, events: TransportEvents): EngineTransport {
  const worker = new Worker(entry);
  let ended = false;
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    events.onExit(reason);
  };
  worker.on('message', (m: ReplyMessage) => events.onMessage(m));
  worker.on('error', (error) => end(`crashed: ${error.message}`));
  worker.on('exit', (code) => end(`exit code ${code}`));
  return {
    mode: 'thread',
    pid: undefined,
    post: (m) => worker.postMessage(m),
    // Only safe while the worker is idle in JS; the client uses threads for benchmarks, where nothing is cancelled.
    kill: () => void worker.terminate(),
    setBusy: (busy) => (busy ? worker.ref() : worker.unref()),
    rssBytes: () => undefined,
  };
}

/** RSS of a process from /proc (Linux); undefined where there is no /proc. */
function procRss(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
