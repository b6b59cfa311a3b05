/**
 * Closed-loop load on a sidecar: `connections` requests in flight until `requests` are done or `seconds`
 * pass, whichever is first. Every `streamEvery`-th request streams, so the SSE path is exercised too.
 */
import { Pool } from 'undici';

export function chatBody(model: string, stream: boolean): string {
  return JSON.stringify({
    model,
    stream,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Summarise the plot of Hamlet in three sentences, please. '.repeat(4) },
    ],
  });
}

export interface LoadResult {
  done: number;
  errors: number;
  seconds: number;
  rps: number;
}

export async function closedLoop(o: {
  url: string;
  model: string;
  requests: number;
  seconds: number;
  connections?: number;
  streamEvery?: number;
  /** Called every `every` completed requests (for RSS samples). */
  onProgress?: (done: number) => void;
  every?: number;
}): Promise<LoadResult> {
  const connections = o.connections ?? 16;
  const pool = new Pool(o.url, { connections });
  const json = chatBody(o.model, false);
  const sse = chatBody(o.model, true);
  const deadline = performance.now() + o.seconds * 1000;
  const started = performance.now();
  let issued = 0;
  let done = 0;
  let errors = 0;
  const worker = async () => {
    while (issued < o.requests && performance.now() < deadline) {
      const n = issued++;
      const stream = o.streamEvery !== undefined && n % o.streamEvery === 0;
      try {
        const r = await pool.request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: stream ? sse : json,
        });
        await r.body.arrayBuffer();
        if (r.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      done++;
      if (o.onProgress && o.every && done % o.every === 0) o.onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  await pool.close();
  const seconds = (performance.now() - started) / 1000;
  return { done, errors, seconds, rps: done / seconds };
}
