/**
 * Feature extraction for the complexity classifier: one pass over a bounded view of the conversation
 * (core/classifier/text.ts) that yields named dense features and hashed word uni- and bigrams.
 *
 * Token length is an estimate, not exact o200k BPE: exact counting with gpt-tokenizer costs 25-120 us for
 * just 256 chars (cold merge cache), more than the whole 50 us budget. See TOKEN_COEF.
 */
import { CUE_CLASSES, cueBitsOf } from './cues.js';
import { FNV_OFFSET, fnvStep, pairHash } from './hash.js';
import { type ChatMessage, type ConversationView, viewConversation } from './text.js';

/** Earlier turns still tell what the conversation is about, but less than the turn being answered. */
export const CONTEXT_WEIGHT = 0.5;
const MAX_GRAMS = 8192;

/**
 * Named dense features: length, structure, notation and task cues. Deliberately absent: answer-format and
 * style signals (multiple-choice options, line and sentence counts, word length, capitals, digit share). In the dev data
 * they mostly tell MMLU from GSM8K, so a model learns "no options, short words = math word problem = needs
 * the strong model" and misroutes chat, whose style matches neither (measured: greetings scored 0.97).
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
  view: ConversationView;
}

const gramBuf = new Int32Array(MAX_GRAMS);
const weightBuf = new Float32Array(MAX_GRAMS);
const startBuf = new Int32Array(MAX_GRAMS);
const endBuf = new Int32Array(MAX_GRAMS);
const inQueryBuf = new Uint8Array(MAX_GRAMS);

interface Counts {
  digits: number;
  numbers: number;
  math: number;
  latex: number;
  code: number;
  backticks: number;
  listItems: number;
  words: number;
  nonAscii: number;
  punct: number;
  newlines: number;
  cues: number[];
  grams: number;
}

// Character classes of ASCII, looked up once per char instead of a chain of comparisons.
const OTHER = 0;
const UPPER = 1;
const LOWER = 2;
const DIGIT = 3;
const SPACE = 4;
const NEWLINE = 5;
const MATH = 6;
const CODE = 7;
const LATEX = 8;
const BACKTICK = 9;
const APOSTROPHE = 10;
const WIDE = 11;
const ASCII_CLASS = (() => {
  const t = new Uint8Array(128);
  for (let c = 65; c <= 90; c++) t[c] = UPPER;
  for (let c = 97; c <= 122; c++) t[c] = LOWER;
  for (let c = 48; c <= 57; c++) t[c] = DIGIT;
  for (const c of ' \t\r') t[c.charCodeAt(0)] = SPACE;
  t[10] = NEWLINE;
  for (const c of '+-*/=^<>%') t[c.charCodeAt(0)] = MATH;
  for (const c of '{}[];|&_#') t[c.charCodeAt(0)] = CODE;
  for (const c of '$\\') t[c.charCodeAt(0)] = LATEX;
  t[96] = BACKTICK;
  t[39] = APOSTROPHE;
  return t;
})();

function charClass(c: number): number {
  if (c < 128) return ASCII_CLASS[c] ?? OTHER;
  // × ÷ ± π and the Mathematical Operators block.
  if (c === 215 || c === 247 || c === 177 || c === 960 || (c >= 0x2200 && c <= 0x22ff)) return MATH;
  if (c >= 0xc0 && !(c >= 0x2000 && c <= 0x2bff)) return WIDE;
  return OTHER;
}

/**
 * Accumulates one text's counts and grams, each weighted (1 for the query, CONTEXT_WEIGHT for context).
 * Hot path: counters are locals (flushed once at the end) and the loop runs one step past the text so the
 * last word ends in the same code as every other.
 */
function scan(text: string, weight: number, inQuery: boolean, n: Counts): void {
  let h = FNV_OFFSET;
  let wordStart = -1;
  let prevDigit = false;
  let hasLetter = false;
  let prevWord = 0;
  let prevWordStart = -1;
  let lineStart = true;
  let digits = 0;
  let numbers = 0;
  let words = 0;
  let math = 0;
  let latex = 0;
  let code = 0;
  let backticks = 0;
  let listItems = 0;
  let nonAscii = 0;
  let punct = 0;
  let newlines = 0;
  let g = n.grams;
  const len = text.length;
  for (let i = 0; i <= len; i++) {
    let c = i < len ? text.charCodeAt(i) : 32;
    const k = charClass(c);
    if (k === UPPER || k === LOWER || k === DIGIT || k === WIDE || (k === APOSTROPHE && wordStart >= 0)) {
      if (wordStart < 0) {
        wordStart = i;
        h = FNV_OFFSET;
        hasLetter = false;
        prevDigit = false;
      }
      if (k === DIGIT) {
        digits++;
        if (!prevDigit) h = fnvStep(h, 48);
        prevDigit = true;
      } else {
        if (k === UPPER) c += 32;
        else if (k === WIDE) nonAscii++;
        hasLetter = true;
        prevDigit = false;
        h = fnvStep(h, c);
      }
      if (lineStart) {
        lineStart = false;
        const next = text.charCodeAt(i + 1);
        if (k === DIGIT && (next === 46 || next === 41)) listItems++;
      }
      continue;
    }
    if (wordStart >= 0) {
      if (hasLetter) words++;
      else numbers++;
      const pair = prevWordStart >= 0 ? pairHash(prevWord, h) : 0;
      const bits = cueBitsOf(h) | (prevWordStart >= 0 ? cueBitsOf(pair) : 0);
      if (bits !== 0) {
        for (let b = 0; b < CUE_CLASSES.length; b++) if (bits & (1 << b)) n.cues[b] = (n.cues[b] ?? 0) + weight;
      }
      // A bare number is no word: the dense `numbers` feature counts it, and as a unigram it would only
      // encode how often the training sets use numbers. Bigrams keep it in context ("0 percent").
      if (hasLetter && g < MAX_GRAMS) push(g++, h, wordStart, i, weight, inQuery);
      if (prevWordStart >= 0 && g < MAX_GRAMS) push(g++, pair, prevWordStart, i, weight, inQuery);
      prevWord = h;
      prevWordStart = wordStart;
      wordStart = -1;
    }
    if (i === len) break;
    if (k === NEWLINE) {
      newlines++;
      lineStart = true;
      prevWordStart = -1;
      continue;
    }
    if (k === SPACE) continue;
    punct++;
    if (lineStart) {
      lineStart = false;
      // A bullet is structure, not a minus sign or a product.
      if ((c === 45 || c === 42 || c === 0x2022) && text.charCodeAt(i + 1) === 32) {
        listItems++;
        continue;
      }
    }
    if (k === LATEX) latex++;
    else if (k === BACKTICK) backticks++;
    else if (k === MATH) math++;
    else if (k === CODE) code++;
    // Bigrams do not span sentences or clauses.
    if (c === 46 || c === 33 || c === 63 || c === 44 || c === 58 || c === 59) prevWordStart = -1;
  }
  n.grams = g;
  n.digits += digits * weight;
  n.numbers += numbers * weight;
  n.words += words * weight;
  n.math += math * weight;
  n.latex += latex * weight;
  n.code += code * weight;
  n.backticks += backticks * weight;
  n.listItems += listItems * weight;
  n.nonAscii += nonAscii * weight;
  n.punct += punct * weight;
  n.newlines += newlines * weight;
}

function emptyCounts(): Counts {
  return {
    digits: 0,
    numbers: 0,
    math: 0,
    latex: 0,
    code: 0,
    backticks: 0,
    listItems: 0,
    words: 0,
    nonAscii: 0,
    punct: 0,
    newlines: 0,
    cues: new Array<number>(CUE_CLASSES.length).fill(0),
    grams: 0,
  };
}

function push(k: number, hash: number, start: number, end: number, weight: number, inQuery: boolean): void {
  gramBuf[k] = hash;
  weightBuf[k] = weight;
  startBuf[k] = start;
  endBuf[k] = end;
  inQueryBuf[k] = inQuery ? 1 : 0;
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

/** The counts the token estimate uses, for one text (the trainer checks TOKEN_COEF against exact o200k). */
export function tokenCounts(text: string): Record<keyof typeof TOKEN_COEF, number> {
  const n = emptyCounts();
  scan(text, 1, true, n);
  return { words: n.words, digits: n.digits, punct: n.punct, nonAscii: n.nonAscii, newlines: n.newlines };
}

export function extractFeatures(messages: readonly ChatMessage[]): Features {
  const view = viewConversation(messages);
  const n = emptyCounts();
  scan(view.query, 1, true, n);
  const queryTokens = estimateTokens(n, view.query.length, view.queryChars);
  if (view.context.length > 0) scan(view.context, CONTEXT_WEIGHT, false, n);

  const d = new Float64Array(DENSE_NAMES.length);
  d[D.tokens] = Math.log1p(queryTokens);
  // Context is not tokenized: it is only a length signal, and ~4 chars per token is close for prose.
  d[D.context_tokens] = Math.log1p(view.contextChars / 4);
  d[D.turns] = Math.log(view.userTurns);
  d[D.numbers] = Math.log1p(n.numbers);
  d[D.math_symbols] = Math.log1p(n.math);
  d[D.latex] = Math.log1p(n.latex);
  d[D.code_symbols] = Math.log1p(n.code);
  d[D.code_fence] = n.backticks >= 3 ? 1 : 0;
  d[D.list_items] = Math.log1p(n.listItems);
  for (let b = 0; b < CUE_CLASSES.length; b++) d[CUE_BASE + b] = Math.log1p(n.cues[b] ?? 0);

  return {
    dense: d,
    grams: gramBuf.subarray(0, n.grams),
    gramWeight: weightBuf.subarray(0, n.grams),
    gramStart: startBuf.subarray(0, n.grams),
    gramEnd: endBuf.subarray(0, n.grams),
    gramInQuery: inQueryBuf.subarray(0, n.grams),
    view,
  };
}

/** The words behind gram i, for explanations (allocates: call only for the few top features). */
export function gramText(f: Features, i: number): string {
  const src = f.gramInQuery[i] === 1 ? f.view.query : f.view.context;
  return src
    .slice(f.gramStart[i] ?? 0, f.gramEnd[i] ?? 0)
    .toLowerCase()
    .replace(/\s+/g, ' ');
}
