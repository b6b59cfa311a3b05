/**
 * Word cues that mark what kind of work a prompt asks for. They are topic-free on purpose: the training
 * data covers a few MMLU subjects and grade-school math, and the router must generalise to other subjects
 * and to open-ended chat, so cues describe the task (reason, compute, code, obey constraints, create),
 * not the subject.
 */
import { phraseHash } from './hash.js';

export const CUE_CLASSES = ['reasoning', 'compute', 'code', 'constraint', 'creative', 'math_term', 'choice'] as const;
export type CueClass = (typeof CUE_CLASSES)[number];

const LEXICON: Record<CueClass, string[]> = {
  // How multiple-choice questions are phrased ("which of the following", "all of the above", "EXCEPT"): answer
  // format, not a kind of work. Its own class, outside the task-type term: as reasoning cues they made the
  // average training prompt "reason" (they are in most MMLU stems), so a free-form prompt without a
  // reasoning word was scored down for lacking what multiple-choice questions have.
  choice: ['which of', 'most likely', 'least likely', 'best explains', 'except', 'not true', 'all of'],
  reasoning: [
    'why',
    'explain',
    'prove',
    'proof',
    'derive',
    'justify',
    'analyze',
    'analyse',
    'reason',
    'reasoning',
    'therefore',
    'implies',
    'deduce',
    'infer',
    'evaluate',
    'compare',
    'contrast',
    'critique',
    'assume',
    'suppose',
    'hypothesis',
    'consequently',
    'step by',
    'think step',
    'show that',
    'derivation',
    'puzzle',
    'riddle',
    'logic',
    'logical',
    'logically',
    'contradiction',
    'induction',
    'conclude',
    'conclusion',
    'verify',
    'counterexample',
    'necessarily',
  ],
  compute: [
    'calculate',
    'compute',
    'how many',
    'how much',
    'total',
    'solve',
    'find the',
    'what is',
    'estimate',
    'determine',
    'percent',
    'percentage',
    'average',
    'per',
    'each',
    'remaining',
    'left',
    'twice',
    'half',
    'times',
    'more than',
    'less than',
    'cost',
    'costs',
    'profit',
    'rate',
    'minutes',
    'hours',
    // A number times a variable ("3x + 7 = 2x - 5", "2y"): digit runs hash as '0', so these match any
    // coefficient. Algebra in a free-form prompt asks for a computation; "3x" does not occur in the dev data.
    '0x',
    '0y',
    '0z',
    '0n',
  ],
  // Not 'return', 'while' or 'let': as English words ("return them as JSON", "while I was away", "let me
  // know") they made extraction and writing requests look like code; code itself has its symbols and fences.
  code: [
    'function',
    'def',
    'class',
    'import',
    'const',
    'var',
    'int',
    'void',
    'public',
    'static',
    'printf',
    'print',
    'include',
    'for loop',
    'algorithm',
    'code',
    'program',
    'python',
    'javascript',
    'java',
    'sql',
    'query',
    'array',
    'string',
    'compile',
    'bug',
    'debug',
    'implement',
    'regex',
    'api',
    'recursion',
    'complexity',
    'runtime',
    'null',
    'boolean',
  ],
  constraint: [
    'must',
    'exactly',
    'at least',
    'at most',
    'only',
    'without',
    'ensure',
    'format',
    'limit',
    'should',
    'do not',
    "don't",
    'never',
    'always',
    'include',
    'words',
    'sentences',
    'json',
    'table',
    'list',
    'bullet',
    'concise',
    'rewrite',
    'each',
  ],
  // Not 'write': "write a function / a proof / a query" is as common as "write a poem", and as a creative cue
  // it pulled code and math requests down with the writing ones.
  creative: [
    'story',
    'poem',
    'essay',
    'imagine',
    'pretend',
    'roleplay',
    'role',
    'character',
    'email',
    'blog',
    'post',
    'letter',
    'speech',
    'song',
    'creative',
    'fun',
    'joke',
    'describe',
    'persuasive',
    'tweet',
    'slogan',
    'brainstorm',
    'ideas',
  ],
  math_term: [
    'equation',
    'equations',
    'integral',
    'derivative',
    'matrix',
    'matrices',
    'vector',
    'vectors',
    'probability',
    'theorem',
    'prime',
    'primes',
    'polynomial',
    'function of',
    'sum',
    'product',
    'ratio',
    'fraction',
    'fractions',
    'square',
    'root',
    'roots',
    'irrational',
    'sqrt',
    'log',
    'limit of',
    'variance',
    'mean',
    'median',
    'expected',
    'modulo',
    'remainder',
    'divisible',
    'divisor',
    'divisors',
    'integer',
    'integers',
    'real numbers',
    'inequality',
    'geometry',
    'triangle',
    'triangles',
    'circle',
    'area',
    'volume',
    'velocity',
    'acceleration',
    'energy',
    'mass',
  ],
};

const CUE_SLOTS = 1024;
const cueKeys = new Int32Array(CUE_SLOTS);
const cueBits = new Uint8Array(CUE_SLOTS);
CUE_CLASSES.forEach((cls, bit) => {
  for (const phrase of LEXICON[cls]) {
    const h = phraseHash(phrase);
    let i = h & (CUE_SLOTS - 1);
    while (cueBits[i] !== 0 && cueKeys[i] !== h) i = (i + 1) & (CUE_SLOTS - 1);
    cueKeys[i] = h;
    cueBits[i] = (cueBits[i] ?? 0) | (1 << bit);
  }
});

/**
 * Cue classes of a word or bigram hash, as a bitmask (bit i = CUE_CLASSES[i]); 0 for none. An
 * open-addressing table of typed arrays: a Map keyed by numbers would box every hash on the hot path.
 */
export function cueBitsOf(hash: number): number {
  let i = hash & (CUE_SLOTS - 1);
  for (;;) {
    const bits = cueBits[i] ?? 0;
    if (bits === 0) return 0;
    if (cueKeys[i] === hash) return bits;
    i = (i + 1) & (CUE_SLOTS - 1);
  }
}
