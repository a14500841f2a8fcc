// Polling for state that settles asynchronously in the extension host (status bar counts, tab models, posts).

/** Reads `probe` every `stepMs` until `done` holds or `timeoutMs` passes; returns the last value read. */
export async function waitFor<T>(
  probe: () => T,
  done: (value: T) => boolean,
  timeoutMs = 5_000,
  stepMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = probe();
  while (!done(value) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, stepMs));
    value = probe();
  }
  return value;
}
