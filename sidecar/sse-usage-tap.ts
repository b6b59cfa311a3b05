/**
 * Passes an upstream SSE stream through event by event while reading the usage it carries. The sidecar
 * asks every chat/completions stream for `stream_options.include_usage`; when the client did not ask for it
 * the final usage-only chunk is dropped here, so the client sees exactly the stream it requested. Events are
 * forwarded as soon as they are complete; only a partial event waits for its end.
 */
import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';
import type { Endpoint } from './parse-request.js';
import { outputTextOf, usageFrom } from './usage-extract.js';

const EVENT_END = /\r?\n\r?\n/g;
const HAS_USAGE = /"usage"\s*:\s*\{/;

export class SseUsageTap extends Transform {
  usage: { input: number; output: number } | undefined;
  /** Set once any byte went to the client. */
  sentAny = false;
  private carry = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly texts: string[] = [];

  constructor(
    private readonly endpoint: Endpoint,
    private readonly stripUsageChunk: boolean,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const text = this.carry + this.decoder.write(chunk);
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
    if (out !== '') {
      this.sentAny = true;
      this.push(out);
    }
    cb();
  }

  override _flush(cb: TransformCallback): void {
    const rest = this.carry + this.decoder.end();
    if (rest !== '') {
      this.sentAny = true;
      this.push(rest);
    }
    cb();
  }

  /** Output text seen so far, for counting when no usage arrived. */
  outputText(): string {
    const parts: string[] = [];
    for (const data of this.texts) {
      try {
        const v = JSON.parse(data) as { type?: string; delta?: unknown };
        if (this.endpoint === 'responses') {
          if (v.type === 'response.output_text.delta' && typeof v.delta === 'string') parts.push(v.delta);
        } else parts.push(outputTextOf(this.endpoint, v));
      } catch {
        // a torn event carries no countable text
      }
    }
    return parts.join('');
  }

  private keep(event: string): boolean {
    const data = dataOf(event);
    if (data === undefined || data === '[DONE]') return true;
    if (!HAS_USAGE.test(data)) {
      this.texts.push(data);
      return true;
    }
    let v: { usage?: unknown; response?: { usage?: unknown }; choices?: unknown[] };
    try {
      v = JSON.parse(data) as typeof v;
    } catch {
      return true;
    }
    const usage = usageFrom(v.usage) ?? usageFrom(v.response?.usage);
    if (usage) this.usage = usage;
    this.texts.push(data);
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
