// The worker thread's entry: wires the Engine to the parent port. All logic lives in Engine.
import { parentPort } from 'node:worker_threads';
import type { EngineApi, RequestMessage } from '../protocol/messages';
import { serve } from '../protocol/rpc';
import { Engine } from './engine';

const engine = new Engine();
const port = parentPort;
if (!port) throw new Error('worker-main must run in a worker thread');

// Requests run one at a time: onnxruntime already uses every core, and ordering keeps replies predictable.
let queue: Promise<void> = Promise.resolve();
port.on('message', (message: RequestMessage<EngineApi> | { kind: 'shutdown' }) => {
  if (message.kind === 'shutdown') {
    void engine.dispose().finally(() => process.exit(0));
    return;
  }
  queue = queue.then(async () => {
    const { reply, transfer } = await serve<EngineApi>(engine, message, (event) => port.postMessage(event));
    port.postMessage(reply, transfer);
  });
});
