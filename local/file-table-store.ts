/**
 * A TableStore fed by ModelRoute files (local mode). Filesystem events are only a hint that triggers an early
 * rescan; a periodic rescan comparing each file's size, mtime and inode is the truth (events get lost on some
 * mounts, and editors save by rename). Every rescan runs through one queue. A route whose new version does
 * not parse or validate keeps its last good version, and the problem is logged once, naming file and field.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { RoutingTable } from '../core/api/types.js';
import type { TableStore, TableStoreHooks } from '../sidecar/table-store.js';
import { listRouteFiles, parseRouteFile, routeKey } from './route-files.js';

export interface FileTableStoreOptions {
  /** A directory of route files, or one file. */
  path: string;
  /** Applied to every compiled table before it is served (local mode points backends at the simulator). */
  rewrite?: (table: RoutingTable) => RoutingTable;
  /** Rescan period (default 1000 ms). */
  pollMs?: number;
  hooks?: TableStoreHooks;
}

interface Loaded {
  signature: string;
  /** Last good table of each route this file defines, by namespace/name. */
  tables: Map<string, RoutingTable>;
}

export class FileTableStore implements TableStore {
  private readonly files = new Map<string, Loaded>();
  /** Served tables (after rewrite) by the compiled table they came from, so an unchanged route is not re-prepared. */
  private readonly served = new WeakMap<RoutingTable, RoutingTable>();
  private snapshot: ReadonlyArray<RoutingTable> = Object.freeze([]);
  private owners = new Map<string, string>();
  private scanned = false;
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private closed = false;
  /** The last I/O problem reported per path, so a lasting one is logged once, not on every rescan. */
  private readonly ioProblems = new Map<string, string>();
  private readonly path: string;

  constructor(private readonly o: FileTableStoreOptions) {
    this.path = resolve(o.path);
  }

  current(): ReadonlyArray<RoutingTable> {
    return this.snapshot;
  }

  /** Ready after the first scan, even with no valid route: requests then get model_not_found with the list. */
  ready(): boolean {
    return this.scanned;
  }

  /** Which file each served route comes from, by namespace/name. */
  sources(): ReadonlyMap<string, string> {
    return this.owners;
  }

  async start(): Promise<void> {
    await this.rescan();
    const dir = (await stat(this.path)).isDirectory() ? this.path : dirname(this.path);
    try {
      this.watcher = watch(dir, () => this.hint());
      this.watcher.on('error', () => undefined);
    } catch (err) {
      this.log(`cannot watch ${dir} (${(err as Error).message}); changes are picked up by polling`);
    }
    this.timer = setInterval(() => void this.rescan(), this.o.pollMs ?? 1_000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.watcher?.close();
    await this.queue;
  }

  /** Rereads what changed on disk; resolves when the new snapshot is in place. */
  rescan(): Promise<void> {
    const run = this.queue.then(() => (this.closed ? undefined : this.scan()));
    this.queue = run.catch((err: unknown) => this.log(`rescan of ${this.path} failed: ${(err as Error).message}`));
    return this.queue;
  }

  // Editors write in bursts (truncate, write, rename): wait for the burst to end.
  private hint(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.rescan(), 75);
  }

  private async scan(): Promise<void> {
    const list = await listRouteFiles(this.path).catch((err: unknown) => {
      this.ioProblem(this.path, `cannot list ${this.path}: ${(err as Error).message}; keeping the routes in use`);
      return undefined;
    });
    if (!list) return;
    this.ioProblems.delete(this.path);
    let changed = !this.scanned;
    for (const file of [...this.files.keys()]) {
      if (list.includes(file)) continue;
      this.files.delete(file);
      this.log(`${file} removed: its routes are no longer served`);
      changed = true;
    }
    for (const file of list) changed = (await this.load(file)) || changed;
    this.scanned = true;
    if (changed) this.publish();
  }

  /** Reloads one file if it changed; true if its tables changed. */
  private async load(file: string): Promise<boolean> {
    let signature: string;
    let text: string;
    try {
      const s = await stat(file);
      signature = `${s.size}:${s.mtimeMs}:${s.ino}`;
      if (this.files.get(file)?.signature === signature) return false;
      text = await readFile(file, 'utf8');
    } catch (err) {
      // Gone between listing and reading: the next scan sees it missing.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      this.ioProblem(file, `cannot read ${file}: ${(err as Error).message}; keeping its routes`);
      return false;
    }
    this.ioProblems.delete(file);
    const before = this.files.get(file);
    if (text.trim() === '' && before && before.tables.size > 0) {
      // Most often an editor between truncate and write; deleting the file is how a route is removed.
      this.log(`${file} is empty: keeping its routes until it has content again or is deleted`);
      this.files.set(file, { signature, tables: before.tables });
      return false;
    }
    const parsed = parseRouteFile(file, text);
    const tables = new Map<string, RoutingTable>();
    for (const t of parsed.tables) tables.set(routeKey(t), t);
    const kept = parsed.unreadable ? [...(before?.tables.keys() ?? [])] : parsed.invalid;
    for (const key of kept) {
      const last = before?.tables.get(key);
      if (last && !tables.has(key)) tables.set(key, last);
    }
    for (const p of parsed.problems) this.log(`error: ${p}`);
    for (const key of parsed.invalid) this.o.hooks?.rejected?.(key, 'invalid ModelRoute');
    if (parsed.problems.length > 0) {
      const keptNow = kept.filter((k) => tables.has(k));
      const keptText = keptNow.map((k) => `${k}@${tables.get(k)!.tableVersion}`).join(', ');
      if (keptNow.length > 0) this.log(`${file}: still serving the last good version of ${keptText}`);
      else if (parsed.tables.length > 0) this.log(`${file}: its valid routes are served; the invalid ones are not`);
      else this.log(`${file}: nothing from this file is served until it is fixed`);
    }
    if (parsed.tables.length === 0 && parsed.problems.length === 0) this.log(`${file}: no ModelRoute in this file`);
    this.files.set(file, { signature, tables });
    const same =
      before !== undefined &&
      before.tables.size === tables.size &&
      [...tables].every(([k, t]) => before.tables.get(k)?.tableVersion === t.tableVersion);
    return !same;
  }

  private publish(): void {
    const owners = new Map<string, string>();
    const out: RoutingTable[] = [];
    for (const file of [...this.files.keys()].sort()) {
      for (const [key, table] of this.files.get(file)!.tables) {
        const owner = owners.get(key);
        if (owner !== undefined) {
          this.log(
            `error: ${file}: route ${key} is also defined in ${owner}; serving the one in ${owner} (first file by name)`,
          );
          continue;
        }
        owners.set(key, file);
        out.push(this.serve(table));
      }
    }
    const previous = new Map(this.snapshot.map((t) => [routeKey(t), t.tableVersion]));
    for (const t of out) {
      const was = previous.get(routeKey(t));
      if (was === undefined)
        this.log(`route ${routeKey(t)} loaded from ${owners.get(routeKey(t))} (table ${t.tableVersion})`);
      else if (was !== t.tableVersion)
        this.log(`route ${routeKey(t)} reloaded from ${owners.get(routeKey(t))} (table ${was} -> ${t.tableVersion})`);
      previous.delete(routeKey(t));
    }
    for (const key of previous.keys()) this.log(`route ${key} is no longer served`);
    this.owners = owners;
    this.snapshot = Object.freeze(out);
    this.o.hooks?.changed?.(this.snapshot);
  }

  private serve(compiled: RoutingTable): RoutingTable {
    let table = this.served.get(compiled);
    if (!table) {
      table = Object.freeze(this.o.rewrite ? this.o.rewrite(compiled) : compiled);
      for (const p of this.o.hooks?.prepare?.(table) ?? []) this.log(`route ${routeKey(table)}: ${p}`);
      this.served.set(compiled, table);
    }
    return table;
  }

  private ioProblem(path: string, message: string): void {
    if (this.ioProblems.get(path) === message) return;
    this.ioProblems.set(path, message);
    this.log(`error: ${message}`);
  }

  private log(m: string): void {
    this.o.hooks?.log?.(m);
  }
}
