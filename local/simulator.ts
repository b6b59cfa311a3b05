/**
 * Simulated OpenAI-compatible models for local mode: a real HTTP server on 127.0.0.1 (port 0) in the dev
 * process, so a request still goes client -> sidecar -> HTTP -> model, exactly the path it takes in a cluster.
 * A simulated backend's baseURL is `<url>/sim/<route>/<backend>/v1`. Latency is a time to first byte plus a
 * per-token pace (longer for large models and for reasoning effort), scaled by `latencyScale` (0 in tests).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { completionBody, embeddingsBody, newId, streamFrames, type SimEndpoint } from './sim-payloads.js';
import { answerFor, chatInputTokens, contentText, embeddingOf, tokenCount } from './sim-text.js';

export interface SimulatorOptions {
  /** Multiplies every delay: 1 is realistic, 0 answers at once. */
  latencyScale?: number;
}

export interface Simulator {
  url: string;
  /** The baseURL a table's backend gets when this simulator stands in for it. */
  baseURLFor(route: string, backend: string): string;
  close(): Promise<void>;
}

const MAX_BODY = 8 * 1024 * 1024;
const SMALL_MODEL = /nano|mini|small|haiku|flash|lite|(^|[^0-9])[1-9](\.\d)?b\b/i;
/** Extra thinking before the first token, and the reasoning tokens billed for it, per effort. */
const EFFORT = { low: { ms: 300, tokens: 64 }, medium: { ms: 900, tokens: 256 }, high: { ms: 2000, tokens: 1024 } };

class BadRequest extends Error {}

export async function startSimulator(o: SimulatorOptions = {}): Promise<Simulator> {
  const scale = o.latencyScale ?? 1;
  const server: Server = createServer((req, res) => {
    handle(req, res, scale).catch((err: unknown) => {
      const bad = err instanceof BadRequest;
      sendError(res, bad ? 400 : 500, bad ? 'invalid_request_error' : 'server_error', (err as Error).message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    baseURLFor: (route, backend) => `${url}/sim/${encodeURIComponent(route)}/${encodeURIComponent(backend)}/v1`,
    close() {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function endpointOf(path: string): SimEndpoint | undefined {
  if (path.endsWith('/chat/completions')) return 'chat';
  if (path.endsWith('/completions')) return 'completions';
  if (path.endsWith('/embeddings')) return 'embeddings';
  if (path.endsWith('/responses')) return 'responses';
  return undefined;
}

async function handle(req: IncomingMessage, res: ServerResponse, scale: number) {
  const path = (req.url ?? '/').split('?')[0]!;
  const [, sim, route = '-', backend = '-'] = path.split('/').map(decodeURIComponent);
  const endpoint = endpointOf(path);
  if (sim !== 'sim' || !endpoint || req.method !== 'POST') {
    req.resume();
    return sendError(
      res,
      404,
      'invalid_request_error',
      `the simulator serves POST /sim/<route>/<backend>/v1/{chat/completions,completions,embeddings,responses}, not ${req.method} ${path}`,
    );
  }
  const body = await readJSON(req);
  const model = typeof body.model === 'string' ? body.model : 'simulated';
  const gone = () => res.destroyed || res.writableEnded;
  const pace = paceOf(model, scale);

  if (endpoint === 'embeddings') {
    const inputs = embeddingInputs(body.input);
    const dims =
      typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.min(4096, Math.floor(body.dimensions)) : 1536;
    const input = inputs.reduce<number>((n, t) => n + (typeof t === 'number' ? t : tokenCount(t)), 0);
    await sleep(pace.firstByteMs / 3);
    if (gone()) return;
    const vectors = inputs.map((t) => embeddingOf(String(t), dims));
    return sendJSON(res, embeddingsBody(model, vectors, body.encoding_format === 'base64', input));
  }

  const { prompt, input } = promptOf(endpoint, body);
  const maxTokens = [body.max_completion_tokens, body.max_tokens, body.max_output_tokens].find(
    (v) => typeof v === 'number',
  ) as number | undefined;
  const effortName = (
    typeof body.reasoning_effort === 'string'
      ? body.reasoning_effort
      : (body.reasoning as { effort?: unknown } | undefined)?.effort
  ) as keyof typeof EFFORT | undefined;
  const effort = effortName !== undefined ? EFFORT[effortName] : undefined;
  const answer = answerFor({ prompt, model, route, backend, ...(maxTokens !== undefined && { maxTokens }) });
  const reasoning = effort?.tokens ?? 0;
  const completed = {
    id: newId(endpoint === 'responses' ? 'resp' : endpoint === 'chat' ? 'chatcmpl' : 'cmpl'),
    model,
    text: answer.text,
    finishReason: answer.finishReason,
    usage: { input, output: answer.outputTokens + reasoning, reasoning },
  };
  await sleep(pace.firstByteMs + (effort?.ms ?? 0) * scale);
  if (gone()) return;
  if (body.stream !== true) {
    // A non-streamed answer arrives whole, once the model has generated every token.
    await sleep(answer.outputTokens * pace.perTokenMs);
    if (gone()) return;
    return sendJSON(res, completionBody(endpoint, completed));
  }
  const includeUsage =
    endpoint === 'responses' ||
    (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const frames = streamFrames(endpoint, completed, includeUsage);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(frames.head.join(''));
  for (const piece of answer.text.split(/(?<= )/)) {
    await sleep(tokenCount(piece) * pace.perTokenMs);
    if (gone()) return;
    res.write(frames.piece(piece));
  }
  res.end(frames.tail.join(''));
}

function paceOf(model: string, scale: number): { firstByteMs: number; perTokenMs: number } {
  const small = SMALL_MODEL.test(model);
  const jitter = 0.85 + Math.random() * 0.3;
  return { firstByteMs: (small ? 180 : 400) * jitter * scale, perTokenMs: (small ? 6 : 15) * jitter * scale };
}

function promptOf(
  endpoint: Exclude<SimEndpoint, 'embeddings'>,
  body: Record<string, unknown>,
): { prompt: string; input: number } {
  if (endpoint === 'chat') {
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0) throw new BadRequest("'messages' must be a non-empty array");
    const lastUser = [...messages].reverse().find((m: { role?: unknown }) => m?.role === 'user') as
      { content?: unknown } | undefined;
    return {
      prompt: contentText(lastUser?.content),
      input: chatInputTokens(messages as { role?: unknown; content?: unknown }[]),
    };
  }
  const source = endpoint === 'completions' ? body.prompt : body.input;
  if (Array.isArray(source) && endpoint === 'responses') {
    const items = source.filter((m): m is { role?: unknown; content?: unknown } => typeof m === 'object' && m !== null);
    const lastUser = [...items].reverse().find((m) => m.role === 'user');
    return { prompt: contentText(lastUser?.content), input: chatInputTokens(items) };
  }
  const text = Array.isArray(source) ? source.map(String).join('\n') : typeof source === 'string' ? source : '';
  if (text === '')
    throw new BadRequest(`'${endpoint === 'completions' ? 'prompt' : 'input'}' must be a non-empty string or array`);
  return { prompt: text, input: tokenCount(text) };
}

/** Strings to embed, or token counts for inputs already given as token arrays. */
function embeddingInputs(input: unknown): (string | number)[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0) {
    if (input.every((x) => typeof x === 'number')) return [input.length];
    return input.map((x) => (typeof x === 'string' ? x : Array.isArray(x) ? x.length : JSON.stringify(x)));
  }
  throw new BadRequest("'input' must be a string or a non-empty array");
}

async function readJSON(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new BadRequest(`request body over ${MAX_BODY} bytes`);
    parts.push(chunk as Buffer);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch (err) {
    throw new BadRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new BadRequest('request body must be a JSON object');
  return v as Record<string, unknown>;
}

function sendJSON(res: ServerResponse, v: unknown): void {
  const body = JSON.stringify(v);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ error: { message, type, code: status === 404 ? 'not_found' : 'invalid_request' } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
