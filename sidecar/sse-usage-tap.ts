/**
 * Reads the usage an upstream SSE stream carries as it passes through, event by event. The sidecar asks every
 * chat/completions stream for `stream_options.include_usage`; when the client did not ask for it the final
 * usage-only chunk is dropped here, so the client sees exactly the stream it requested. Events are forwarded
 * as soon as they are complete; only a partial event waits for its end.
 *
 * Not a stream: the relay hands each upstream chunk to `take()` and writes what it returns. A Transform in
 * between cost a second stream hop per chunk, and its buffers and state per answer, on the hot path.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Endpoint } from './parse-request.js';
import { outputTextOf, usageFrom } from './usage-extract.js';

const EVENT_END = /\r?\n\r?\n/g;
const EVENT_SPLIT = /\r?\n\r?\n/;
const HAS_USAGE = /"usage"\s*:\s*\{/;
/** Text kept for counting a stream that reports no usage; past this the count covers the first part only. */
const MAX_KEPT_CHARS = 4 * 1024 * 1024;

export class SseUsageTap {
  usage: { input: number; output: number } | undefined;
  /** The upstream ended in the middle of an event (not the `[DONE]` line): the answer was cut. */
  tornTail = false;
  private carry = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly texts: string[] = [];
  private keptChars = 0;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly stripUsageChunk: boolean,
  ) {}

  /** What of `chunk` goes to the client now: the chunk itself, the complete events of it, or nothing yet. */
  take(chunk: Buffer): Buffer | string | undefined {
    const decoded = this.decoder.write(chunk);
    // Fast path, the common case: whole events, none carrying usage. The bytes go on untouched and the text
    // is only kept for counting, in case the stream never reports usage. Equal byte lengths with a text
    // ending in a newline mean the decoder held no bytes from the previous chunk.
    if (
      this.carry === '' &&
      decoded.endsWith('\n\n') &&
      !HAS_USAGE.test(decoded) &&
      Buffer.byteLength(decoded) === chunk.length
    ) {
      this.keepText(decoded);
      return chunk;
    }
    const text = this.carry + decoded;
    let out = '';
    let start = 0;
    EVENT_END.lastIndex = 0;
    for (let m = EVENT_END.exec(text); m; m = EVENT_END.exec(text)) {
      const end = m.index + m[0].length;
      const event = text.slice(start, end);
      start = end;
      if (this.keep(event)) out += event;
    }
    this.carry = text.slice(start);
    return out === '' ? undefined : out;
  }

  /** At the upstream's end: what is left of a partial last event, to be passed on as it is. */
  finish(): string {
    const rest = this.carry + this.decoder.end();
    if (rest.trim() !== '' && dataOf(rest)?.trim() !== '[DONE]') this.tornTail = true;
    return rest;
  }

  /** Output text seen so far, for counting when no usage arrived. */
  outputText(): string {
    const parts: string[] = [];
    for (const block of this.texts) {
      for (const event of block.split(EVENT_SPLIT)) {
        const data = dataOf(event);
        if (data === undefined || data === '[DONE]') continue;
        try {
          const v = JSON.parse(data) as { type?: string; delta?: unknown };
          if (this.endpoint === 'responses') {
            if (v.type === 'response.output_text.delta' && typeof v.delta === 'string') parts.push(v.delta);
          } else parts.push(outputTextOf(this.endpoint, v));
        } catch {
          // a torn event carries no countable text
        }
      }
    }
    return parts.join('');
  }

  private keepText(text: string): void {
    if (this.usage || this.keptChars > MAX_KEPT_CHARS) return;
    this.keptChars += text.length;
    this.texts.push(text);
  }

  private keep(event: string): boolean {
    if (!HAS_USAGE.test(event)) {
      this.keepText(event);
      return true;
    }
    const data = dataOf(event);
    if (data === undefined) return true;
    let v: { usage?: unknown; response?: { usage?: unknown }; choices?: unknown[] };
    try {
      v = JSON.parse(data) as typeof v;
    } catch {
      return true;
    }
    const usage = usageFrom(v.usage) ?? usageFrom(v.response?.usage);
    if (usage) this.usage = usage;
    else this.keepText(event);
    return !(this.stripUsageChunk && usage && Array.isArray(v.choices) && v.choices.length === 0);
  }
}

function dataOf(event: string): string | undefined {
  let data: string | undefined;
  for (const line of event.split(/\r?\n/)) {
    if (line.startsWith('data:')) {
      const d = line.slice(line[5] === ' ' ? 6 : 5);
      data = data === undefined ? d : `${data}\n${d}`;
    }
  }
  return data;
}
