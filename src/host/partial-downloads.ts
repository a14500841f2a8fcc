// Removes what a cancelled download left behind, and nothing else. transformers.js writes each file as
// `<name>.tmp.<pid>.<random>` next to its final place and renames it when complete, so the leftovers of an engine
// that was killed are exactly: in the folder of each file it reported progress for, the entries named after that
// file with that engine's pid. No folder is ever walked (a cache folder may be any folder of the user's), and
// another window's download (another pid) in a shared cache is left alone.
import { lstat, readdir, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';

/** Deletes the temporary files of `files` (paths as reported in download progress) written by engine process `pid`. */
export async function removePartialDownloads(
  cacheDir: string | undefined,
  model: string,
  files: Iterable<string>,
  pid: number | undefined,
): Promise<string[]> {
  if (!cacheDir || pid === undefined || isAbsolute(model)) return [];
  const root = resolve(cacheDir);
  const removed: string[] = [];
  for (const file of new Set(files)) {
    const target = resolve(root, model, file);
    const rel = relative(root, target);
    // A hostile model id or file name must not point the delete outside the cache.
    if (rel.startsWith('..') || isAbsolute(rel)) continue;
    const prefix = `${basename(target)}.tmp.${pid}.`;
    const dir = dirname(target);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith(prefix)) continue;
      const path = resolve(dir, name);
      const st = await lstat(path).catch(() => undefined);
      if (!st?.isFile()) continue;
      await rm(path, { force: true });
      removed.push(path);
    }
  }
  return removed;
}
