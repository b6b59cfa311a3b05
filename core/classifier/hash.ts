/**
 * Word hashing shared by feature extraction and by the cue lexicon, so a cue is recognised by the same
 * 32-bit hash the scanner computes on the fly, without allocating a string per word. Hashes are signed
 * int32 (`| 0`), which V8 keeps unboxed in optimised code; unsigned values above 2^31 become doubles.
 */

export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

/** One FNV-1a step over a lower-cased char code. */
export function fnvStep(h: number, code: number): number {
  return Math.imul(h ^ code, FNV_PRIME);
}

/** Order-sensitive combination of two word hashes (bigrams). */
export function pairHash(a: number, b: number): number {
  return Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35);
}

/** Hash of a word as the scanner sees it: ASCII lower-cased, digit runs collapsed to one '0'. */
export function wordHash(word: string): number {
  let h = FNV_OFFSET;
  let prevDigit = false;
  for (let i = 0; i < word.length; i++) {
    let c = word.charCodeAt(i);
    const digit = c >= 48 && c <= 57;
    if (digit) {
      if (prevDigit) continue;
      c = 48;
    } else if (c >= 65 && c <= 90) c += 32;
    prevDigit = digit;
    h = fnvStep(h, c);
  }
  return h;
}

/** Hash of a space-separated phrase of one or two words, as the scanner combines them. */
export function phraseHash(phrase: string): number {
  const words = phrase.split(' ');
  const first = wordHash(words[0] ?? '');
  return words.length === 1 ? first : pairHash(first, wordHash(words[1] ?? ''));
}
