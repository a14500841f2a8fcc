// Writes a stream of text chunks to a file without ever joining them: an every-layer × head export of a big model
// is gigabytes of JSON, past V8's string limit, and must not sit in memory whole.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { EngineError } from '../protocol/rpc';

/** Writes every chunk to `path` (created or replaced), honouring backpressure; returns the bytes written. */
export async function writeChunks(path: string, chunks: AsyncIterable<string>): Promise<number> {
  const out = createWriteStream(path, { encoding: 'utf8' });
  const failed = once(out, 'error').then(([e]) => {
    throw new EngineError('bad-input', `could not write ${path}: ${(e as Error).message}`);
  });
  failed.catch(() => undefined);
  try {
    for await (const chunk of chunks) {
      if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
    }
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
    return out.bytesWritten;
  } finally {
    out.destroy();
  }
}
