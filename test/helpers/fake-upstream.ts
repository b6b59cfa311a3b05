/**
 * A real OpenAI-compatible HTTP server on port 0, for tests that need an upstream model.
 *
 * It answers `POST .../chat/completions`, `.../completions`, `.../embeddings` and `.../responses` (any path
 * prefix, so `/v1/...` and Azure's `/openai/deployments/<d>/...?api-version=` both work), in JSON or SSE
 * (`stream: true`), with a `usage` block. Every request is recorded (method, path, headers, parsed body,
 * the usage it was sent, whether the client closed early). Behaviour is scriptable per request:
 *
 *   const up = await startFakeUpstream({ name: 'cheap' });
 *   up.enqueue({ status: 500 });                      // next request only
 *   up.setDefault({ delayMs: 2000 });                 // every request after the queue is empty
 *   up.enqueue({ stream: { stallAfterChunks: 2 } });  // stall mid-stream until the client goes away
 *   await up.requests[0]!.clientClosed;               // resolves when the client hung up before the end
 *   up.totalUsage();                                  // sum of every usage block sent
 *   await up.close();
 *
 * `refusedURL()` gives a base URL on which nothing listens (connection refused).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UsageSent {
  input: number;
  output: number;
}

/** What the fake does for one request. Every field is optional; the default is a normal answer. */
export interface Behaviour {
  /** Answer with this status and an OpenAI error body (or `body`) instead of a completion. */
  status?: number;
  /** Sent with `status` (e.g. '2' on a 429). */
  retryAfter?: string;
  /** Raw body to send with `status` (default: an OpenAI-shaped error). */
  body?: string;
  /** Wait this long before the first byte (headers included). */
  delayMs?: number;
  /** Never answer; the socket stays open until the client gives up. */
  hang?: boolean;
  /** Answer 200 with a body that is not JSON. */
  malformedJson?: boolean;
  /** Answer 200 with `{"error": {...}}` instead of a completion. */
  errorBody?: boolean;
  /** Text of the answer (default: `reply from <name> to <model>`); streams send one chunk per word. */
  content?: string;
  /** Usage to report (default derived from the request); `null` reports none. */
  usage?: { input: number; output: number } | null;
  stream?: {
    /** Stop sending after N content chunks and keep the socket open. */
    stallAfterChunks?: number;
    /** Destroy the socket after N content chunks. */
    resetAfterChunks?: number;
    /** End the response cleanly after N content chunks, mid-event and without `[DONE]`. */
    truncateAfterChunks?: number;
    /** Awaited before chunk i is written, so a test can hold the stream between chunks. */
    gate?: (index: number) => Promise<void>;
  };
}

export interface RecordedRequest {
  method: string;
  /** Path with query, as received. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  /** The usage block this fake sent back (undefined if none was sent). */
  usageSent?: UsageSent;
  /** Resolves if the client closed the connection before the response ended. */
  clientClosed: Promise<void>;
  /** True once the client closed early. */
  closedEarly: boolean;
}

export interface FakeUpstream {
  name: string;
  /** http://127.0.0.1:<port> */
  url: string;
  /** `${url}/v1`, what a table's baseURL would hold. */
  baseURL: string;
  port: number;
  requests: RecordedRequest[];
  enqueue(...behaviours: Behaviour[]): void;
  setDefault(behaviour: Behaviour): void;
  /** Resolves once at least n requests were received. */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  totalUsage(): UsageSent;
  reset(): void;
  close(): Promise<void>;
}

type Endpoint = 'chat' | 'completions' | 'embeddings' | 'responses';

function endpointOf(path: string): Endpoint | undefined {
  if (path.endsWith('/chat/completions')) return 'chat';
  if (path.endsWith('/completions')) return 'completions';
  if (path.endsWith('/embeddings')) return 'embeddings';
  if (path.endsWith('/responses')) return 'responses';
  return undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function defaultUsage(raw: string, content: string): UsageSent {
  return { input: 5 + (raw.length % 97), output: content.split(' ').length * 2 + 1 };
}

function usageJSON(endpoint: Endpoint, u: UsageSent): Record<string, number> {
  if (endpoint === 'responses')
    return { input_tokens: u.input, output_tokens: u.output, total_tokens: u.input + u.output };
  if (endpoint === 'embeddings') return { prompt_tokens: u.input, total_tokens: u.input };
  return { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output };
}

const EMBEDDING = [0.1, 0.2, 0.3];

function completionJSON(
  endpoint: Endpoint,
  model: string,
  content: string,
  usage: UsageSent | undefined,
  base64 = false,
): unknown {
  const u = usage ? usageJSON(endpoint, usage) : undefined;
  const created = Math.floor(Date.now() / 1000);
  switch (endpoint) {
    case 'chat':
      return {
        id: 'chatcmpl-fake',
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        ...(u && { usage: u }),
      };
    case 'completions':
      return {
        id: 'cmpl-fake',
        object: 'text_completion',
        created,
        model,
        choices: [{ index: 0, text: content, finish_reason: 'stop' }],
        ...(u && { usage: u }),
      };
    case 'embeddings':
      return {
        object: 'list',
        model,
        // The openai SDK asks for base64 (little-endian float32) by default.
        data: [
          {
            object: 'embedding',
            index: 0,
            embedding: base64 ? Buffer.from(Float32Array.from(EMBEDDING).buffer).toString('base64') : EMBEDDING,
          },
        ],
        ...(u && { usage: u }),
      };
    case 'responses':
      return {
        id: 'resp-fake',
        object: 'response',
        created_at: created,
        status: 'completed',
        model,
        output: [
          {
            type: 'message',
            id: 'msg-fake',
            role: 'assistant',
            status: 'completed',
            content: [{ type: 'output_text', text: content, annotations: [] }],
          },
        ],
        ...(u && { usage: u }),
      };
  }
}

/** The SSE events of a streamed answer: content chunks, then the trailer (usage, [DONE]) as one list. */
function streamEvents(
  endpoint: Endpoint,
  model: string,
  words: string[],
  usage: UsageSent | undefined,
  includeUsage: boolean,
) {
  const created = Math.floor(Date.now() / 1000);
  if (endpoint === 'responses') {
    const chunks = words.map(
      (w) =>
        `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: w })}\n\n`,
    );
    const done = completionJSON('responses', model, words.join(''), usage);
    return {
      chunks,
      trailer: [
        `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: done })}\n\n`,
      ],
    };
  }
  const base =
    endpoint === 'chat'
      ? { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created, model }
      : { id: 'cmpl-fake', object: 'text_completion', created, model };
  const choice = (w: string) =>
    endpoint === 'chat'
      ? { index: 0, delta: { content: w }, finish_reason: null }
      : { index: 0, text: w, finish_reason: null };
  const chunks = words.map((w) => `data: ${JSON.stringify({ ...base, choices: [choice(w)] })}\n\n`);
  const trailer: string[] = [];
  if (includeUsage && usage)
    trailer.push(`data: ${JSON.stringify({ ...base, choices: [], usage: usageJSON(endpoint, usage) })}\n\n`);
  trailer.push('data: [DONE]\n\n');
  return { chunks, trailer };
}

export async function startFakeUpstream(opts: { name?: string } = {}): Promise<FakeUpstream> {
  const name = opts.name ?? 'fake';
  const requests: RecordedRequest[] = [];
  const queue: Behaviour[] = [];
  let fallback: Behaviour = {};
  const waiters = new Set<() => void>();

  async function respond(req: IncomingMessage, res: ServerResponse, raw: string, rec: RecordedRequest, b: Behaviour) {
    if (b.hang) return;
    if (b.delayMs) await sleep(b.delayMs);
    if (res.destroyed) return;
    const endpoint = endpointOf(rec.path);
    if (req.method !== 'POST' || !endpoint) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { message: `no route ${req.method} ${rec.path}`, type: 'invalid_request_error', code: 'not_found' },
        }),
      );
      return;
    }
    if (b.status !== undefined && b.status !== 200) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (b.retryAfter !== undefined) headers['retry-after'] = b.retryAfter;
      res.writeHead(b.status, headers);
      res.end(
        b.body ??
          JSON.stringify({
            error: { message: `${name} says ${b.status}`, type: 'api_error', code: `fake_${b.status}` },
          }),
      );
      return;
    }
    if (b.malformedJson) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "broken", "choices": [');
      return;
    }
    if (b.errorBody) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { message: `${name} failed inside a 200`, type: 'server_error', code: 'fake_error_body' },
        }),
      );
      return;
    }
    const body = (rec.body ?? {}) as {
      model?: string;
      stream?: boolean;
      stream_options?: { include_usage?: boolean };
      encoding_format?: string;
    };
    const model = typeof body.model === 'string' ? body.model : 'unknown';
    const content = b.content ?? `reply from ${name} to ${model}`;
    const usage = b.usage === null ? undefined : (b.usage ?? defaultUsage(raw, content));
    if (body.stream !== true || endpoint === 'embeddings') {
      rec.usageSent = usage;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(completionJSON(endpoint, model, content, usage, body.encoding_format === 'base64')));
      return;
    }
    const includeUsage = endpoint === 'responses' || body.stream_options?.include_usage === true;
    const words = content.split(/(?<= )/);
    const { chunks, trailer } = streamEvents(endpoint, model, words, usage, includeUsage);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    // As model servers do: the headers go at once, before the first event (which may be a long way off).
    res.flushHeaders();
    const s = b.stream ?? {};
    for (let i = 0; i < chunks.length; i++) {
      if (s.stallAfterChunks === i) return;
      if (s.resetAfterChunks === i) {
        req.socket.destroy();
        return;
      }
      if (s.truncateAfterChunks === i) {
        res.end(chunks[i]!.slice(0, 12));
        return;
      }
      if (s.gate) await s.gate(i);
      if (res.destroyed) return;
      // Each chunk is on the wire before the next step, so a fault after chunk N really comes after it.
      await new Promise<void>((resolve) => res.write(chunks[i], () => resolve()));
    }
    if (includeUsage) rec.usageSent = usage;
    res.end(trailer.join(''));
  }

  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(parts).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // kept raw: a test may want to see what was sent
      }
      const u = new URL(req.url ?? '/', 'http://x');
      let markClosed!: () => void;
      const rec: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        path: u.pathname,
        query: u.searchParams,
        headers: req.headers,
        body,
        clientClosed: new Promise<void>((r) => (markClosed = r)),
        closedEarly: false,
      };
      res.on('close', () => {
        if (!res.writableFinished) {
          rec.closedEarly = true;
          markClosed();
        }
      });
      requests.push(rec);
      for (const w of waiters) w();
      const b = queue.shift() ?? fallback;
      respond(req, res, raw, rec, b).catch(() => res.destroy());
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    name,
    url,
    baseURL: `${url}/v1`,
    port,
    requests,
    enqueue: (...b) => void queue.push(...b),
    setDefault: (b) => void (fallback = b),
    waitForRequests(n, timeoutMs = 5000) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${name}: expected ${n} requests within ${timeoutMs} ms, got ${requests.length}`));
        }, timeoutMs);
        const check = () => {
          if (requests.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    totalUsage() {
      return requests.reduce(
        (t, r) => ({ input: t.input + (r.usageSent?.input ?? 0), output: t.output + (r.usageSent?.output ?? 0) }),
        { input: 0, output: 0 },
      );
    },
    reset() {
      requests.length = 0;
      queue.length = 0;
      fallback = {};
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A base URL on which nothing listens: the port was just bound and released. */
export async function refusedURL(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}/v1`;
}
