/**
 * The router-eval JSONL schema (../shared/router-eval/README.md), parsed and checked line by line. Plain
 * `{"id","messages"}` lines are accepted too: they can be scored but not evaluated.
 */

export interface RouterEvalRow {
  id: string;
  category?: string;
  source?: string;
  messages: { role: string; content: unknown }[];
  weak?: { model?: string; quality: number; response?: string };
  strong?: { model?: string; quality: number; response?: string };
}

export class RowError extends Error {
  readonly code = 'bad_row';
}

function side(v: unknown, name: string, line: number): RouterEvalRow['weak'] {
  if (v === undefined) return undefined;
  const o = v as { model?: unknown; quality?: unknown; response?: unknown };
  if (o === null || typeof o !== 'object' || typeof o.quality !== 'number' || !Number.isFinite(o.quality)) {
    throw new RowError(`line ${line}: '${name}.quality' must be a number`);
  }
  return {
    quality: o.quality,
    ...(typeof o.model === 'string' ? { model: o.model } : {}),
    ...(typeof o.response === 'string' ? { response: o.response } : {}),
  };
}

/** Parses one non-empty line; throws RowError (code 'bad_row') with the line number on bad input. */
export function parseRow(text: string, line: number): RouterEvalRow {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new RowError(`line ${line}: not JSON`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new RowError(`line ${line}: not an object`);
  const o = v as Record<string, unknown>;
  const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : String(line);
  const messages = o.messages;
  if (
    !Array.isArray(messages) ||
    messages.some((m) => m === null || typeof m !== 'object' || typeof m.role !== 'string')
  ) {
    throw new RowError(`line ${line}: 'messages' must be an array of {role, content}`);
  }
  const weak = side(o.weak, 'weak', line);
  const strong = side(o.strong, 'strong', line);
  return {
    id,
    messages: messages as RouterEvalRow['messages'],
    ...(typeof o.category === 'string' ? { category: o.category } : {}),
    ...(typeof o.source === 'string' ? { source: o.source } : {}),
    ...(weak ? { weak } : {}),
    ...(strong ? { strong } : {}),
  };
}

/** Parses a whole JSONL text (blank lines skipped). */
export function parseJsonl(text: string): RouterEvalRow[] {
  const rows: RouterEvalRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]?.trim();
    if (l) rows.push(parseRow(l, i + 1));
  }
  return rows;
}
