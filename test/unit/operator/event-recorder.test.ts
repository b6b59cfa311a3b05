import { describe, expect, it } from '@jest/globals';
import type { ModelRoute } from '../../../core/api/types.js';
import { EventRecorder } from '../../../operator/event-recorder.js';
import type { RouteEvent } from '../../../operator/kube-client.js';
import { silentLogger } from '../../../operator/log.js';

const route = (name: string): ModelRoute => ({
  apiVersion: 'modelroute.dev/v1alpha1',
  kind: 'ModelRoute',
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '7' },
  spec: { match: { models: ['m'] }, backends: [], strategy: {} },
});
const published: RouteEvent = { type: 'Normal', reason: 'Published', message: 'x' };

describe('EventRecorder', () => {
  it('returns at once and posts in the background, at most `concurrency` at a time', async () => {
    let active = 0;
    let maxActive = 0;
    const posted: string[] = [];
    const recorder = new EventRecorder({
      post: async (r) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 2));
        posted.push(r.metadata.name);
        active--;
      },
      log: silentLogger,
      concurrency: 2,
      maxPending: 100,
    });
    for (let i = 0; i < 10; i++) recorder.record(route(`r${i}`), published);
    expect(posted).toEqual([]);
    await recorder.whenIdle();
    expect(posted.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`).sort());
    expect(maxActive).toBe(2);
  });

  it('drops and counts Events beyond maxPending, and survives failed posts', async () => {
    let dropped = 0;
    let release = (): void => {};
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const recorder = new EventRecorder({
      post: async () => {
        calls++;
        await gate;
        throw new Error('apiserver down');
      },
      log: silentLogger,
      concurrency: 1,
      maxPending: 3,
      onDropped: () => dropped++,
    });
    for (let i = 0; i < 6; i++) recorder.record(route(`r${i}`), published);
    // One in flight, three waiting, two dropped.
    expect(dropped).toBe(2);
    release();
    await recorder.whenIdle();
    expect(calls).toBe(4);
  });

  it('stop drops what waits and waits for what is being posted', async () => {
    let release = (): void => {};
    const gate = new Promise<void>((r) => (release = r));
    const posted: string[] = [];
    const recorder = new EventRecorder({
      post: async (r) => {
        await gate;
        posted.push(r.metadata.name);
      },
      log: silentLogger,
      concurrency: 1,
      maxPending: 10,
    });
    recorder.record(route('first'), published);
    recorder.record(route('second'), published);
    const stopped = recorder.stop();
    release();
    await stopped;
    expect(posted).toEqual(['first']);
    recorder.record(route('after'), published);
    await recorder.whenIdle();
    expect(posted).toEqual(['first']);
  });
});
