/**
 * Feature extraction for the complexity classifier: one pass over a bounded view of the conversation
 * (core/classifier/text.ts) that yields named dense features and hashed word uni- and bigrams.
 *
 * Token length is an estimate, not exact o200k BPE: exact counting with gpt-tokenizer costs 25-120 us for
 * just 256 chars (cold merge cache), more than the whole 50 us budget. See TOKEN_COEF.
 */
import { CUE_CLASSES, cueBitsOf } from './cues.js';
import { FNV_OFFSET, FNV_PRIME, pairHash } from './hash.js';
import { type ChatMessage, type ConversationView, viewConversation } from './text.js';

/** Answer-option lines that make a prompt multiple choice. */
export const MIN_CHOICES = 2;

/** Earlier turns still tell what the conversation is about, but less than the turn being answered. */
export const CONTEXT_WEIGHT = 0.5;
const MAX_GRAMS = 8192;

/**
 * Named dense features: length, structure, notation and task cues. Deliberately absent: answer-format and
 * style signals (line and sentence counts, word length, capitals, digit share). In the dev data they mostly
 * tell MMLU from GSM8K, so a model learns "short words = math word problem = needs the strong model" and
 * misroutes chat, whose style matches neither (measured: greetings scored 0.97). Answer options only set
 * the prompt's structure (`Features.choices`); as features inside multiple-choice prompts (option length,
 * numeric options, capitalised NOT / EXCEPT) they did not rank held-out subjects any better (docs/router.md).
 */
const BASE_NAMES = [
  'tokens',
  'context_tokens',
  'turns',
  'numbers',
  'math_symbols',
  'latex',
  'code_symbols',
  'code_fence',
  'list_items',
] as const;
export type DenseName = (typeof BASE_NAMES)[number] | `cue_${(typeof CUE_CLASSES)[number]}`;
export const DENSE_NAMES: readonly DenseName[] = [...BASE_NAMES, ...CUE_CLASSES.map((c) => `cue_${c}` as const)];
const D = Object.fromEntries(DENSE_NAMES.map((n, i) => [n, i])) as Record<DenseName, number>;
const CUE_BASE = D.cue_reasoning;

/**
 * Extracted features. `grams` and `gramWeight` are views into buffers reused by the next call: copy them
 * if they must outlive it (the trainer does).
 */
export interface Features {
  /** Raw values, indexed like DENSE_NAMES (the model standardises them). */
  dense: Float64Array;
  /** 32-bit hashes of word unigrams and bigrams, in text order. */
  grams: Int32Array;
  /** 1 for grams of the last user turn, CONTEXT_WEIGHT for earlier context. */
  gramWeight: Float32Array;
  /** Where each gram is: its text is `gramText(features, i)`. */
  gramStart: Int32Array;
  gramEnd: Int32Array;
  gramInQuery: Uint8Array;
  /**
   * Answer-option lines in the last user turn ("A. ...", "b) ...", "(C) ..."). Not a dense feature: as a
   * weight it would only tell MMLU from GSM8K. The model uses it to tell a multiple-choice question from a
   * free-form request (see ModelWeights.dense.free).
   */
  choices: number;
  view: ConversationView;
}

const gramBuf = new Int32Array(MAX_GRAMS);
const weightBuf = new Float32Array(MAX_GRAMS);
const startBuf = new Int32Array(MAX_GRAMS);
const endBuf = new Int32Array(MAX_GRAMS);
const inQueryBuf = new Uint8Array(MAX_GRAMS);

/**
 * One text's counts, as integers: extract() weights context counts when it combines them. Fields that
 * only ever hold small integers stay unboxed; accumulating weighted (x0.5) counts changed their
 * representation from int to double on the first context and deoptimised the scanner.
 */
interface Counts {
  digits: number;
  numbers: number;
  math: number;
  latex: number;
  code: number;
  backticks: number;
  listItems: number;
  choices: number;
  words: number;
  nonAscii: number;
  punct: number;
  newlines: number;
  /** Cue counts by class. */
  cues: Int32Array;
  /** End of this text's grams in the gram buffers. */
  grams: number;
}

// Character classes. Word classes come first (UPPER..WIDE start a word, APOSTROPHE only continues one) so
// the hot loop tests "starts a word" and "continues a word" with one comparison each.
const UPPER = 0;
const LOWER = 1;
const DIGIT = 2;
const WIDE = 3;
const APOSTROPHE = 4;
const OTHER = 5;
const SPACE = 6;
const NEWLINE = 7;
const MATH = 8;
const CODE = 9;
const LATEX = 10;
const BACKTICK = 11;

function charClass(c: number): number {
  if (c < 128) {
    if (c >= 65 && c <= 90) return UPPER;
    if (c >= 97 && c <= 122) return LOWER;
    if (c >= 48 && c <= 57) return DIGIT;
    if (c === 32 || c === 9 || c === 13) return SPACE;
    if (c === 10) return NEWLINE;
    if ('+-*/=^<>%'.includes(String.fromCharCode(c))) return MATH;
    if ('{}[];|&_#'.includes(String.fromCharCode(c))) return CODE;
    if (c === 36 || c === 92) return LATEX; // dollar sign, backslash
    if (c === 96) return BACKTICK;
    if (c === 39) return APOSTROPHE;
    return OTHER;
  }
  // × ÷ ± π and the Mathematical Operators block.
  if (c === 215 || c === 247 || c === 177 || c === 960 || (c >= 0x2200 && c <= 0x22ff)) return MATH;
  if (c >= 0xc0 && !(c >= 0x2000 && c <= 0x2bff)) return WIDE;
  return OTHER;
}

/**
 * charClass of every UTF-16 code unit, computed once (64 KB): the scanner does one load per char instead of
 * a chain of range tests, which was a large share of its per-char cost.
 */
const CHAR_CLASS = (() => {
  const t = new Uint8Array(0x10000);
  for (let c = 0; c < t.length; c++) t[c] = charClass(c);
  return t;
})();

/**
 * The text being scanned as UTF-16 code units. `charCodeAt` in optimised code re-dispatches on the string's
 * representation (sequential, sliced, flattened cons: the query is a head + tail concatenation and the
 * context a slice) on every char, and which representations the JIT saw first changed the scan's speed by
 * up to 2x (the 2,000-token bench case ran slower than the 32,000-token one). One native copy
 * (`Buffer#write` as UTF-16LE, code units as they are, lone surrogates included) then plain typed-array loads
 * cost the same whatever the string is.
 *
 * A fixed buffer, never regrown: optimised code then knows the array and its bounds, and reads a char with
 * one bounds check instead of a map check and three field loads. extract() scans at most
 * QUERY_HEAD_CHARS + QUERY_TAIL_CHARS + 1 units per text; tokenCounts() splits longer texts.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAX_UNITS = 1 << 16;
const unitBytes = Buffer.alloc(2 * MAX_UNITS);
const units = new Uint16Array(unitBytes.buffer, unitBytes.byteOffset, MAX_UNITS);

function loadUnits(text: string): void {
  if (text.length > MAX_UNITS) throw new Error(`scan: ${text.length} chars, more than ${MAX_UNITS}`);
  if (LITTLE_ENDIAN) unitBytes.write(text, 0, 'utf16le');
  else for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
}

/** Slots of `tally` past the char classes (which count non-word chars by class). */
const T_WORDS = 12;
const T_NUMBERS = 13;
const T_DIGITS = 14;
const T_NON_ASCII = 15;
const T_LIST_ITEMS = 16;
const T_BULLETS = 17;
const T_CHOICES = 18;
const T_NEWLINES = 19;
/**
 * scan()'s counters. In memory, not in locals: a dozen counters live across the scan loop left V8 too few
 * registers for the word loop, which then kept its char, class and hash on the stack.
 */
const tally = new Int32Array(20);

/**
 * Counts one text into `n` and appends its grams to the gram buffers from index `first`, weighted 1 for the
 * query and CONTEXT_WEIGHT for context.
 *
 * Hot path (most of score()'s time): char classes come from CHAR_CLASS, and each word is consumed by its own
 * inner loop, so the per-char work inside a word is one load, one well-predicted branch and one FNV step;
 * word-level work (counts, cues, grams) runs once per word, and a non-word char is one tally by its class.
 * Words are runs of letters, digits and non-ASCII letters, with apostrophes inside them; digit runs hash as
 * one '0' and ASCII letters hash lower-cased (see wordHash in hash.ts, which must agree).
 *
 * Optimised code pays a hole check and a target check on every use of an imported binding, so the FNV step
 * is written out here with a local FNV_PRIME. A gram's weight and whether it is in the query are the same
 * for the whole text: they are filled once at the end.
 */
function scan(text: string, inQuery: boolean, first: number, n: Counts): void {
  const cls = CHAR_CLASS;
  const t = tally;
  const prime = FNV_PRIME | 0;
  const offset = FNV_OFFSET | 0;
  const grams = gramBuf;
  const starts = startBuf;
  const ends = endBuf;
  const cues = n.cues;
  t.fill(0);
  cues.fill(0);
  let prevWord = 0;
  let prevWordStart = -1;
  let lineStart = true;
  let g = first;
  const len = text.length;
  loadUnits(text);
  const u = units;
  let i = 0;
  while (i < len) {
    let c = u[i] ?? 0;
    let k = cls[c] ?? OTHER;
    if (k <= WIDE) {
      const wordStart = i;
      if (lineStart) {
        lineStart = false;
        // "1." or "1)" opening a line is a numbered list item.
        const next = i + 1 < len ? u[i + 1] : -1;
        if (k === DIGIT && (next === 46 || next === 41)) t[T_LIST_ITEMS]!++;
        // "A." or "b)" opening a line is an answer option.
        else if (isOptionLetter(c) && (next === 46 || next === 41)) t[T_CHOICES]!++;
      }
      let h = offset;
      let hasLetter = false;
      for (;;) {
        if (k === DIGIT) {
          // A run of digits hashes as a single '0'.
          h = Math.imul(h ^ 48, prime);
          const from = i;
          while (++i < len && cls[u[i] ?? 0] === DIGIT);
          t[T_DIGITS]! += i - from;
        } else {
          // `| 32` lower-cases A-Z and leaves a-z and the apostrophe as they are.
          if (k === WIDE) t[T_NON_ASCII]!++;
          else c |= 32;
          hasLetter = true;
          h = Math.imul(h ^ c, prime);
          i++;
        }
        if (i >= len) break;
        c = u[i] ?? 0;
        k = cls[c] ?? OTHER;
        if (k > APOSTROPHE) break;
      }
      // The word is text[wordStart, i).
      t[hasLetter ? T_WORDS : T_NUMBERS]!++;
      const paired = prevWordStart >= 0;
      const pair = paired ? pairHash(prevWord, h) : 0;
      const bits = cueBitsOf(h) | (paired ? cueBitsOf(pair) : 0);
      if (bits !== 0) {
        for (let b = 0; b < cues.length; b++) if (bits & (1 << b)) cues[b] = (cues[b] ?? 0) + 1;
      }
      // A bare number is no word: the dense `numbers` feature counts it, and as a unigram it would only
      // encode how often the training sets use numbers. Bigrams keep it in context ("0 percent").
      if (hasLetter && g < MAX_GRAMS) {
        grams[g] = h;
        starts[g] = wordStart;
        ends[g++] = i;
      }
      if (paired && g < MAX_GRAMS) {
        grams[g] = pair;
        starts[g] = prevWordStart;
        ends[g++] = i;
      }
      prevWord = h;
      prevWordStart = wordStart;
      if (i >= len) break;
      // text[i] ends the word and is handled below like any other non-word char.
    }
    i++;
    if (k === NEWLINE) {
      t[T_NEWLINES]!++;
      lineStart = true;
      prevWordStart = -1;
      continue;
    }
    if (k === SPACE) continue;
    if (lineStart) {
      lineStart = false;
      // A bullet is structure, not a minus sign or a product.
      if ((c === 45 || c === 42 || c === 0x2022) && i < len && u[i] === 32) {
        t[T_BULLETS]!++;
        continue;
      }
      // "(A)" opening a line is an answer option.
      if (c === 40 && i + 1 < len && isOptionLetter(u[i] ?? 0) && u[i + 1] === 41) t[T_CHOICES]!++;
    }
    // A dollar sign before a digit is a currency amount ("$1.10"), not LaTeX: plain punctuation.
    t[k === LATEX && c === 36 && i < len && cls[u[i]!] === DIGIT ? OTHER : k]!++;
    // Bigrams do not span sentences or clauses.
    if (c === 46 || c === 33 || c === 63 || c === 44 || c === 58 || c === 59) prevWordStart = -1;
  }
  weightBuf.fill(inQuery ? 1 : CONTEXT_WEIGHT, first, g);
  inQueryBuf.fill(inQuery ? 1 : 0, first, g);
  n.grams = g;
  const bullets = t[T_BULLETS] ?? 0;
  n.digits = t[T_DIGITS] ?? 0;
  n.numbers = t[T_NUMBERS] ?? 0;
  n.words = t[T_WORDS] ?? 0;
  n.math = t[MATH] ?? 0;
  n.latex = t[LATEX] ?? 0;
  n.code = t[CODE] ?? 0;
  n.backticks = t[BACKTICK] ?? 0;
  n.listItems = (t[T_LIST_ITEMS] ?? 0) + bullets;
  n.choices = t[T_CHOICES] ?? 0;
  n.nonAscii = t[T_NON_ASCII] ?? 0;
  // Every char that is no word, space or newline; a bullet too.
  n.punct = bullets + (t[OTHER] ?? 0) + (t[APOSTROPHE] ?? 0) + n.math + n.latex + n.code + n.backticks;
  n.newlines = t[T_NEWLINES] ?? 0;
}

function newCounts(): Counts {
  return {
    digits: 0,
    numbers: 0,
    math: 0,
    latex: 0,
    code: 0,
    backticks: 0,
    listItems: 0,
    choices: 0,
    words: 0,
    nonAscii: 0,
    punct: 0,
    newlines: 0,
    cues: new Int32Array(CUE_CLASSES.length),
    grams: 0,
  };
}

const queryCounts = newCounts();
const contextCounts = newCounts();

/**
 * A-H or a-h: the letters that label answer options (`| 32` lower-cases them and maps no other code unit
 * into a-h). One comparison, so one call gives the JIT feedback for all of it (see PRIMERS).
 */
function isOptionLetter(c: number): boolean {
  return ((c | 32) - 97) >>> 0 < 8;
}

/** Answer-option lines ("A. ", "b) ", "(C) ") in `text`, as scan() counts them; the first line only if whole. */
export function optionLines(text: string): number {
  let n = 0;
  for (let at = text.indexOf('\n'); at >= 0 && at + 2 < text.length; at = text.indexOf('\n', at + 1)) {
    const a = text.charCodeAt(at + 1);
    const b = text.charCodeAt(at + 2);
    if (isOptionLetter(a) && (b === 46 || b === 41)) n++;
    else if (a === 40 && isOptionLetter(b) && text.charCodeAt(at + 3) === 41) n++;
  }
  return n;
}

/**
 * o200k token count estimated from the scan's counts. Exact BPE costs ~0.1 us per token (more on a cold
 * merge cache), so it is not affordable per request; this linear model was fitted by least squares to exact
 * o200k counts of the router-eval dev prompts, and `npm run train:router` prints its error on them. The
 * scanned slice is extrapolated to the full length of the turn.
 */
export const TOKEN_COEF = { words: 1.076, digits: 0.755, punct: 0.79, nonAscii: 1.423, newlines: 0.937 };

function estimateTokens(q: Counts, scanned: number, fullChars: number): number {
  const t =
    TOKEN_COEF.words * q.words +
    TOKEN_COEF.digits * q.digits +
    TOKEN_COEF.punct * q.punct +
    TOKEN_COEF.nonAscii * q.nonAscii +
    TOKEN_COEF.newlines * q.newlines;
  return scanned > 0 ? (t * fullChars) / scanned : 0;
}

/** A feature count over the whole conversation: earlier context counts at CONTEXT_WEIGHT. */
function weigh(query: number, context: number): number {
  return query + CONTEXT_WEIGHT * context;
}

/** The counts the token estimate uses, for one text (the trainer checks TOKEN_COEF against exact o200k). */
export function tokenCounts(text: string): Record<keyof typeof TOKEN_COEF, number> {
  const n = newCounts();
  const sum = { words: 0, digits: 0, punct: 0, nonAscii: 0, newlines: 0 };
  // In pieces of at most MAX_UNITS, each cut after a char that is no part of a word: none of these counts
  // changes across such a cut (a line start only changes list items and options). Only a run of more than
  // MAX_UNITS word chars is cut inside, and counts as two words.
  for (let at = 0; at < text.length;) {
    let end = Math.min(text.length, at + MAX_UNITS);
    let cut = end;
    while (end < text.length && cut > at && (CHAR_CLASS[text.charCodeAt(cut - 1)] ?? OTHER) <= APOSTROPHE) cut--;
    if (cut > at) end = cut;
    scan(text.slice(at, end), true, 0, n);
    for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += n[k];
    at = end;
  }
  return sum;
}

/**
 * What the model reads of one conversation, without allocating: `dense` and the gram buffers are reused by
 * the next call, and `hashes` / `weights` are valid up to `grams`. extractFeatures() makes Features of it.
 */
export interface Extracted {
  dense: Float64Array;
  hashes: Int32Array;
  weights: Float32Array;
  /** Grams in the buffers. */
  grams: number;
  /** Sum of the grams' weights, which the model normalises by (exact: a sum of ones and halves). */
  weightSum: number;
  choices: number;
  view: ConversationView;
}

const extracted: Extracted = {
  dense: new Float64Array(DENSE_NAMES.length),
  hashes: gramBuf,
  weights: weightBuf,
  grams: 0,
  weightSum: 0,
  choices: 0,
  view: viewConversation([]),
};

export function extract(messages: readonly ChatMessage[]): Extracted {
  const view = viewConversation(messages);
  const q = queryCounts;
  const c = contextCounts;
  scan(view.query, true, 0, q);
  scan(view.context, false, q.grams, c);
  const e = extracted;
  e.grams = c.grams;
  e.weightSum = weigh(q.grams, c.grams - q.grams);
  // Options past the scanned tail of a long question still make it multiple choice.
  e.choices = view.optionTail.length > 0 ? Math.max(q.choices, optionLines(view.optionTail)) : q.choices;
  e.view = view;

  const d = e.dense;
  d[D.tokens] = Math.log1p(estimateTokens(q, view.query.length, view.queryChars));
  // Context is not tokenized: it is only a length signal, and ~4 chars per token is close for prose.
  d[D.context_tokens] = Math.log1p(view.contextChars / 4);
  d[D.turns] = Math.log(view.userTurns);
  d[D.numbers] = Math.log1p(weigh(q.numbers, c.numbers));
  d[D.math_symbols] = Math.log1p(weigh(q.math, c.math));
  d[D.latex] = Math.log1p(weigh(q.latex, c.latex));
  d[D.code_symbols] = Math.log1p(weigh(q.code, c.code));
  d[D.code_fence] = weigh(q.backticks, c.backticks) >= 3 ? 1 : 0;
  d[D.list_items] = Math.log1p(weigh(q.listItems, c.listItems));
  for (let b = 0; b < CUE_CLASSES.length; b++) d[CUE_BASE + b] = Math.log1p(weigh(q.cues[b] ?? 0, c.cues[b] ?? 0));
  return e;
}

/** Features of what extract() returned last: dense copied, grams as views of the buffers. */
export function featuresOf(e: Extracted): Features {
  const n = e.grams;
  return {
    dense: e.dense.slice(),
    grams: gramBuf.subarray(0, n),
    gramWeight: weightBuf.subarray(0, n),
    gramStart: startBuf.subarray(0, n),
    gramEnd: endBuf.subarray(0, n),
    gramInQuery: inQueryBuf.subarray(0, n),
    choices: e.choices,
    view: e.view,
  };
}

export function extractFeatures(messages: readonly ChatMessage[]): Features {
  return featuresOf(extract(messages));
}

/** The words behind gram i, for explanations (allocates: call only for the few top features). */
export function gramText(f: Features, i: number): string {
  return spanText(f.gramInQuery[i] === 1 ? f.view.query : f.view.context, f.gramStart[i] ?? 0, f.gramEnd[i] ?? 0);
}

/** gramText() of gram i of what extract() returned last. */
export function extractedGramText(e: Extracted, i: number): string {
  // Both read on every call: a read of `context` only for context grams had no type feedback when the model
  // was optimised, and deoptimised it the first time a context gram made the top contributions.
  const { query, context } = e.view;
  return spanText(inQueryBuf[i] === 1 ? query : context, startBuf[i] ?? 0, endBuf[i] ?? 0);
}

function spanText(src: string, start: number, end: number): string {
  return src.slice(start, end).toLowerCase().replace(/\s+/g, ' ');
}

/**
 * Type feedback for every branch of scan(), collected once at load. TurboFan optimises scan() after a few
 * long texts; a branch those never took (a bare number, a bullet, an option line) then deoptimised it on
 * first use, and V8 often went on running it only through on-stack replacement, ~1.5x slower for the rest of
 * the process: that alone moved bench/decide.ts between runs. These texts take every branch of scan() and
 * extract().
 */
const PRIMERS = [
  "1. Why 42 apples? Explain step by step, don't guess: x2y.\n- a `code` {x} [y]; $z$ \\ 3+4=7 & b|c #d _e",
  'ÉCOLE naïve 東京 ∑ × 7\n(A) yes\nb) no\n• bullet\n  * star\nA',
  'Calculate the total of $12, at least 3 times!\n12',
  // Longer than the scanned head and tail: a clipped query with answer options past them.
  'A long passage. '.repeat(100) + '\nA. one\nB. two',
];
// Twice: V8 allocates a function's feedback vector only after it has run a while, and nothing before that counts.
for (let round = 0; round < 2; round++) {
  for (const text of PRIMERS)
    extractFeatures([
      { role: 'assistant', content: text },
      { role: 'user', content: text },
    ]);
}
