import { afterEach, describe, expect, it } from '@jest/globals';
import { Informer, type ListWatchSource, type KubeObject } from '../../../operator/informer.js';
import { waitFor } from '../../helpers/wait.js';

type Obj = KubeObject & { metadata: { name: string; namespace: string; resourceVersion: string } };
const obj = (name: string, rv: number): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: String(rv) } });

/** A scripted apiserver: a list of objects and at most one open watch the test drives by hand. */
class ScriptedSource implements ListWatchSource<Obj> {
  readonly description = 'scripted';
  objects = new Map<string, Obj>();
  rv = 1;
  listCalls = 0;
  watchRvs: string[] = [];
  failNextList = false;
  open: { onEvent(t: string, o: unknown): void; onDone(e: unknown): void; aborted: boolean } | undefined;

  async list() {
    this.listCalls++;
    if (this.failNextList) {
      this.failNextList = false;
      throw new Error('connection refused');
    }
    return { items: [...this.objects.values()], resourceVersion: String(this.rv) };
  }
  async watch(rv: string, _t: number, onEvent: (t: string, o: unknown) => void, onDone: (e: unknown) => void) {
    this.watchRvs.push(rv);
    const w = { onEvent, onDone, aborted: false };
    this.open = w;
    return { abort: () => void (w.aborted = true) };
  }
  put(name: string): Obj {
    const o = obj(name, ++this.rv);
    this.objects.set(name, o);
    return o;
  }
}

let informer: Informer<Obj> | undefined;
afterEach(async () => informer?.stop());

function start(
  source: ScriptedSource,
  overrides: { watchTimeoutSeconds?: number; stallGraceMs?: number; resyncMs?: number } = {},
) {
  const log: string[] = [];
  informer = new Informer<Obj>({
    source,
    handlers: {
      upsert: (o) => log.push(`upsert ${o.metadata.name}`),
      delete: (o) => log.push(`delete ${o.metadata.name}`),
    },
    watchTimeoutSeconds: overrides.watchTimeoutSeconds ?? 60,
    stallGraceMs: overrides.stallGraceMs ?? 1000,
    resyncMs: overrides.resyncMs ?? 60_000,
    listTimeoutMs: 1000,
    backoff: { baseMs: 10, maxMs: 20 },
  });
  informer.start();
  return log;
}

describe('Informer supervisor', () => {
  it('lists, then applies watch events from the list resourceVersion', async () => {
    const src = new ScriptedSource();
    src.put('a');
    const log = start(src);
    await waitFor(() => src.open);
    expect(src.watchRvs).toEqual(['2']);
    src.open!.onEvent('ADDED', src.put('b'));
    src.open!.onEvent('DELETED', obj('a', 4));
    expect(log).toEqual(['upsert a', 'upsert b', 'delete a']);
    expect(informer!.list().map((o) => o.metadata.name)).toEqual(['b']);
  });

  it('re-watches from the last resourceVersion after a normal close, without relisting', async () => {
    const src = new ScriptedSource();
    start(src);
    await waitFor(() => src.open);
    const first = src.open!;
    first.onEvent('BOOKMARK', { metadata: { resourceVersion: '42' } });
    first.onDone(null);
    await waitFor(() => src.watchRvs.length === 2);
    expect(src.watchRvs[1]).toBe('42');
    expect(src.listCalls).toBe(1);
  });

  it('relists on 410 Gone and reports objects deleted meanwhile', async () => {
    const src = new ScriptedSource();
    src.put('a');
    src.put('b');
    const log = start(src);
    await waitFor(() => src.open);
    src.objects.delete('a');
    src.open!.onEvent('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' });
    await waitFor(() => src.listCalls === 2 && src.watchRvs.length === 2);
    expect(log).toContain('delete a');
    expect(informer!.stats.expired).toBe(1);
  });

  it('restarts with backoff after a dropped connection and a failing list', async () => {
    const src = new ScriptedSource();
    start(src);
    await waitFor(() => src.open);
    src.failNextList = true;
    src.open!.onDone(new Error('socket hang up'));
    await waitFor(() => src.listCalls === 3 && src.watchRvs.length === 2, { message: 'relist after error' });
    expect(informer!.stats.errors).toBe(2);
  });

  it('aborts a watch that outlives its server-side timeout (a stall) and relists', async () => {
    const src = new ScriptedSource();
    start(src, { watchTimeoutSeconds: 0, stallGraceMs: 50 });
    await waitFor(() => src.open);
    const stalled = src.open!;
    await waitFor(() => src.listCalls === 2, { message: 'relist after stall' });
    expect(stalled.aborted).toBe(true);
    expect(informer!.stats.stalls).toBeGreaterThanOrEqual(1);
  });

  it('relists periodically (resync) even when the watch is healthy', async () => {
    const src = new ScriptedSource();
    src.put('a');
    const log = start(src, { resyncMs: 50 });
    await waitFor(() => src.listCalls >= 2, { message: 'periodic relist' });
    expect(log.filter((l) => l === 'upsert a').length).toBeGreaterThanOrEqual(2);
  });
});
