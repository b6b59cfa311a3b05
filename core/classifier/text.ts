/**
 * Bounded views of a chat conversation for the classifier: the last user turn and the context before it.
 *
 * Every loop here is capped so that a 1 MB prompt or a 100,000-message conversation costs the same as a
 * long ordinary one: string lengths are O(1) in JavaScript, so sizes stay exact while the text that is
 * actually scanned is a head and a tail slice.
 */

/** Chars of the last user turn that are scanned: the head carries the task, the tail the final ask. */
export const QUERY_HEAD_CHARS = 1024;
export const QUERY_TAIL_CHARS = 256;
/**
 * Chars at the end of a clipped last user turn searched for answer-option lines only: a multiple-choice
 * question after a long passage keeps its options past the scanned tail.
 */
export const OPTION_TAIL_CHARS = 1024;
/** Chars of earlier context (most recent first) that are scanned for code or math. */
export const CONTEXT_SCAN_CHARS = 256;
/** Messages looked at from the end; older ones only count through the cap. */
export const MAX_MESSAGES = 256;
const MAX_PARTS = 64;

export interface ChatMessage {
  role: string;
  content: unknown;
}

export interface ConversationView {
  /** Scanned part of the last user turn (head + tail when it is longer than the caps). */
  query: string;
  /** Full length of the last user turn in chars (UTF-16 units). */
  queryChars: number;
  /** The last OPTION_TAIL_CHARS of the last user turn when `query` is clipped, else ''. */
  optionTail: string;
  /** Scanned tail of everything before the last user turn. */
  context: string;
  /** Full length of everything before the last user turn, in chars (within the last MAX_MESSAGES). */
  contextChars: number;
  /** User turns in the conversation (capped at MAX_MESSAGES). */
  userTurns: number;
  hasSystem: boolean;
}

/** OpenAI content: a string, or an array of parts of which the `text` ones count. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  const n = Math.min(content.length, MAX_PARTS);
  for (let i = 0; i < n; i++) {
    const part: unknown = content[i];
    if (typeof part === 'string') out += (out ? '\n' : '') + part;
    else if (part !== null && typeof part === 'object') {
      const text = (part as { text?: unknown }).text;
      if (typeof text === 'string') out += (out ? '\n' : '') + text;
    }
    if (out.length > QUERY_HEAD_CHARS + QUERY_TAIL_CHARS + 1_000_000) break;
  }
  return out;
}

function clip(text: string): string {
  if (text.length <= QUERY_HEAD_CHARS + QUERY_TAIL_CHARS) return text;
  return text.slice(0, QUERY_HEAD_CHARS) + '\n' + text.slice(text.length - QUERY_TAIL_CHARS);
}

export function viewConversation(messages: readonly ChatMessage[]): ConversationView {
  const first = Math.max(0, messages.length - MAX_MESSAGES);
  let last = -1;
  let userTurns = 0;
  let hasSystem = false;
  for (let i = messages.length - 1; i >= first; i--) {
    const role = messages[i]?.role;
    if (role === 'user') {
      userTurns++;
      if (last < 0) last = i;
    } else if (role === 'system' || role === 'developer') hasSystem = true;
  }
  // No user turn (e.g. a bare completion prompt under another role): score the last message.
  if (last < 0) last = messages.length - 1;
  const queryFull = last >= 0 ? contentText(messages[last]?.content) : '';

  let context = '';
  let contextChars = 0;
  for (let i = last - 1; i >= first; i--) {
    const m = messages[i];
    if (m === undefined || m.role === 'system' || m.role === 'developer') continue;
    const text = contentText(m.content);
    contextChars += text.length;
    if (context.length < CONTEXT_SCAN_CHARS) {
      const room = CONTEXT_SCAN_CHARS - context.length;
      context = (text.length > room ? text.slice(text.length - room) : text) + (context ? '\n' + context : '');
    }
  }
  if (context.length > CONTEXT_SCAN_CHARS) context = context.slice(context.length - CONTEXT_SCAN_CHARS);
  return {
    query: clip(queryFull),
    queryChars: queryFull.length,
    optionTail: queryFull.length > QUERY_HEAD_CHARS + QUERY_TAIL_CHARS ? queryFull.slice(-OPTION_TAIL_CHARS) : '',
    context,
    contextChars,
    userTurns: Math.max(1, userTurns),
    hasSystem,
  };
}
