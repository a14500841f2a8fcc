// The engine's entry, in a child process (the default) or a worker thread: wires the Engine to the parent's
// message channel. All logic lives in Engine.
import { parentPort } from 'node:worker_threads';
import type { EngineApi, ReplyMessage, RequestMessage } from '../protocol/messages';
import { serve } from '../protocol/rpc';
import { Engine } from './engine';

type Incoming = RequestMessage<EngineApi> | { kind: 'shutdown' };

const engine = new Engine();
const port = parentPort;
// In a process, ArrayBuffers are copied through the pipe ('advanced' serialization); in a thread they are transferred.
const send: (m: ReplyMessage, transfer?: ArrayBuffer[]) => void = port
  ? (m, transfer) => port.postMessage(m, transfer)
  : (m) => void process.send?.(m);
const listen = (fn: (m: Incoming) => void) => (port ? port.on('message', fn) : process.on('message', fn as never));
if (!port && !process.send) throw new Error('worker-main must run in a worker thread or a forked process');
// A process engine whose host went away (the extension host crashed or was killed) ends too.
if (!port) process.on('disconnect', () => process.exit(0));

// Requests run one at a time: onnxruntime already uses every core, and ordering keeps replies predictable.
let queue: Promise<void> = Promise.resolve();
listen((message) => {
  if (message.kind === 'shutdown') {
    void engine.dispose().finally(() => process.exit(0));
    return;
  }
  // A stop must reach a generate that is still running, so it does not wait its turn.
  if (message.method === 'stopGenerating') {
    void serve<EngineApi>(engine, message).then(({ reply }) => send(reply));
    return;
  }
  queue = queue.then(async () => {
    const { reply, transfer } = await serve<EngineApi>(engine, message, (event) => send(event));
    send(reply, transfer);
  });
});
