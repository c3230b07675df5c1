/**
 * A synthetic corpus with planted near duplicates, for measuring the dedup stage (near-dup-quality.ts)
 * and for tests.
 *
 * Base documents are English-looking paragraphs: sentences of 5–18 words drawn from ~800 common English
 * words with Zipf frequencies (P(rank k) ∝ 1/k), capitalised, with commas and end punctuation. Each base
 * document gets at most one variant (so every duplicate cluster has two rows and the ground truth is not
 * muddied by chains of edits), of one of these kinds:
 *
 * - `near`: word edits (adjacent swaps, insertions, deletions, substitutions) applied one at a time
 *   while the exact shingle Jaccard with the base stays ≥ a target drawn uniformly from [0.8, 1]; plus,
 *   half the time, case and punctuation edits (which change the text but not the shingle set).
 * - `exact`: a verbatim copy.
 * - `negative` (hard negative): the same procedure with a target in [0.5, 0.7]; kept only if the final
 *   Jaccard lies in [0.5, 0.7].
 * - `short`: a few base rows have 2–4 words (character-shingle path); some get a case/punctuation variant.
 *
 * Every row carries the exact Jaccard of its shingle set with its base (computed with the stage's own
 * shingling), so the measurement knows which pairs are true duplicates (J ≥ 0.8). Rows are shuffled;
 * generation is deterministic for a given seed.
 */
import { jaccard, shingleHashes, type ShingleOptions } from '../src/dedup/shingles.ts';

export type CorpusKind = 'base' | 'near' | 'exact' | 'negative' | 'short' | 'short-variant';

export interface CorpusRow {
  /** Position in the shuffled corpus. */
  id: number;
  text: string;
  kind: CorpusKind;
  /** Id of the base row a variant was made from (variants only). */
  base?: number;
  /** Exact shingle Jaccard with the base row (variants only). */
  jaccard?: number;
}

export interface CorpusOptions {
  /** Base documents (default 12,000). */
  baseDocs?: number;
  /** Planted near duplicates with J in [0.8, 1] (default 5,000). */
  nearDups?: number;
  /** Verbatim copies (default 1,000). */
  exactDups?: number;
  /** Hard negatives with J in [0.5, 0.7] (default 3,000). */
  hardNegatives?: number;
  /** Fraction of base documents that are 2–4 words long (default 0.03). */
  shortFraction?: number;
  /** Range of words per base document (default 30–150). */
  minWords?: number;
  maxWords?: number;
  seed?: number;
  shingles?: ShingleOptions;
}

// ~800 common English words, roughly in order of frequency.
const WORDS = `the of and to a in is it you that he was for on are with as I his they be at one have this
from or had by hot word but what some we can out other were all there when up use your how said an each she
which do their time if will way about many then them write would like so these her long make thing see him
two has look more day could go come did number sound no most people my over know water than call first who
may down side been now find any new work part take get place made live where after back little only round
man year came show every good me give our under name very through just form sentence great think say help
low line differ turn cause much mean before move right boy old too same tell does set three want air well
also play small end put home read hand port large spell add even land here must big high such follow act
why ask men change went light kind off need house picture try us again animal point mother world near build
self earth father head stand own page should country found answer school grow study still learn plant cover
food sun four between state keep eye never last let thought city tree cross farm hard start might story saw
far sea draw left late run while press close night real life few north open seem together next white
children begin got walk example ease paper group always music those both mark often letter until mile river
car feet care second book carry took science eat room friend began idea fish mountain stop once base hear
horse cut sure watch color face wood main enough plain girl usual young ready above ever red list though
feel talk bird soon body dog family direct pose leave song measure door product black short numeral class
wind question happen complete ship area half rock order fire south problem piece told knew pass since top
whole king space heard best hour better true during hundred five remember step early hold west ground
interest reach fast verb sing listen six table travel less morning ten simple several vowel toward war lay
against pattern slow center love person money serve appear road map rain rule govern pull cold notice voice
unit power town fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest
correct able pound done beauty drive stood contain front teach week final gave green oh quick develop ocean
warm free minute strong special mind behind clear tail produce fact street inch multiply nothing course stay
wheel full force blue object decide surface deep moon island foot system busy test record boat common gold
possible plane stead dry wonder laugh thousand ago ran check game shape equate miss brought heat snow tire
bring yes distant fill east paint language among grand ball yet wave drop heart present heavy dance engine
position arm wide sail material size vary settle speak weight general ice matter circle pair include divide
syllable felt perhaps pick sudden count square reason length represent art subject region energy hunt
probable bed brother egg ride cell believe fraction forest sit race window store summer train sleep prove
lone leg exercise wall catch mount wish sky board joy winter sat written wild instrument kept glass grass
cow job edge sign visit past soft fun bright gas weather month million bear finish happy hope flower clothe
strange gone jump baby eight village meet root buy raise solve metal whether push seven paragraph third
shall held hair describe cook floor either result burn hill safe cat century consider type law bit coast
copy phrase silent tall sand soil roll temperature finger industry value fight lie beat excite natural view
sense ear else quite broke case middle kill son lake moment scale loud spring observe child straight
consonant nation dictionary milk speed method organ pay age section dress cloud surprise quiet stone tiny
climb cool design poor lot experiment bottom key iron single stick flat twenty skin smile crease hole trade
melody trip office receive row mouth exact symbol die least trouble shout except wrote seed tone join
suggest clean break lady yard rise bad blow oil blood touch grew cent mix team wire cost lost brown wear
garden equal sent choose fell fit flow fair bank collect save control decimal gentle woman captain practice
separate difficult doctor please protect noon whose locate ring character insect caught period indicate
radio spoke atom human history effect electric expect crop modern element hit student corner party supply
bone rail imagine provide agree thus capital chair danger fruit rich thick soldier process operate guess
necessary sharp wing create neighbor wash bat rather crowd corn compare poem string bell depend meat rub
tube famous dollar stream fear sight thin triangle planet hurry chief colony clock mine tie enter major
fresh search send yellow gun allow print dead spot desert suit current lift rose continue block chart hat
sell success company subtract event particular deal swim term opposite wife shoe shoulder spread arrange
camp invent cotton born determine quart nine truck noise level chance gather shop stretch throw shine
property column molecule select wrong gray repeat require broad prepare salt nose plural anger claim
continent oxygen sugar death pretty skill women season solution magnet silver thank branch match suffix
especially fig afraid huge sister steel discuss forward similar guide experience score apple bought led
pitch coat mass card band rope slip win dream evening condition feed tool total basic smell valley nor
double seat arrive master track parent shore division sheet substance favor connect post spend chord fat
glad original share station dad bread charge proper bar offer segment slave duck instant market degree
populate chick dear enemy reply drink occur support speech nature range steam motion path liquid log
meant quotient teeth shell neck`
  .split(/\s+/)
  .filter((w) => w.length > 0);

const SHORT_ROWS = [
  'Thank you very much',
  'See you tomorrow',
  'Happy birthday',
  'Good morning everyone',
  'What time is it',
  'I agree',
  'Not sure about that',
  'Sounds good to me',
  'Well done',
  'Call me later',
];

/** Mulberry32: small deterministic PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples word ranks with P(k) ∝ 1/(k+1) by binary search over the cumulative weights. */
function zipfSampler(n: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / (k + 1);
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface Generator {
  random: () => number;
  word: () => string;
}

function generator(seed: number): Generator {
  const random = rng(seed);
  const rank = zipfSampler(WORDS.length, random);
  return { random, word: () => WORDS[rank()]! };
}

const capitalise = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1);

/** A paragraph as a list of word tokens with punctuation attached ("Hello," "world."). */
function paragraph(g: Generator, words: number): string[] {
  const out: string[] = [];
  while (out.length < words) {
    const len = Math.min(words - out.length, 5 + Math.floor(g.random() * 14));
    for (let i = 0; i < len; i++) {
      let w = g.word();
      if (i === 0) w = capitalise(w);
      if (i === len - 1) {
        const r = g.random();
        w += r < 0.85 ? '.' : r < 0.93 ? '?' : '!';
      } else if (g.random() < 0.08) w += ',';
      out.push(w);
    }
  }
  return out;
}

/** One word edit that changes the token sequence. */
function wordEdit(g: Generator, words: string[]): string[] {
  const out = words.slice();
  const i = Math.floor(g.random() * out.length);
  const r = g.random();
  if (r < 0.25 && out.length > 1) {
    const j = i + 1 < out.length ? i + 1 : i - 1;
    [out[i], out[j]] = [out[j]!, out[i]!];
  } else if (r < 0.5) out.splice(i, 0, g.word());
  else if (r < 0.75 && out.length > 6) out.splice(i, 1);
  else out[i] = g.word() + (/[.,?!]$/.exec(out[i]!)?.[0] ?? '');
  return out;
}

/** Case and punctuation edits: the text changes, its tokens (hence shingles) do not. */
function surfaceEdits(g: Generator, words: string[]): string[] {
  const out = words.slice();
  const n = 1 + Math.floor(g.random() * 4);
  for (let e = 0; e < n; e++) {
    const i = Math.floor(g.random() * out.length);
    const w = out[i]!;
    const r = g.random();
    if (r < 0.3) out[i] = w.toUpperCase();
    else if (r < 0.55) out[i] = w === w.toLowerCase() ? capitalise(w) : w.toLowerCase();
    else if (r < 0.8) out[i] = /[.,?!;:]$/.test(w) ? w.slice(0, -1) : w + ',';
    else out[i] = w + ';';
  }
  return out;
}

/**
 * Word edits applied one at a time until the shingle Jaccard with the original falls below `hi`, stopping
 * before it would fall below `lo`; undefined if no edit sequence lands in [lo, hi) after a few tries (a short
 * document cannot reach a high-similarity band with even one word edit).
 */
function editToJaccard(
  g: Generator,
  words: string[],
  lo: number,
  hi: number,
  shingles: ShingleOptions,
): { words: string[]; jaccard: number } | undefined {
  const base = shingleHashes(words.join(' '), shingles);
  for (let attempt = 0; attempt < 30; attempt++) {
    let cur = words;
    let j = 1;
    for (let step = 0; step < 400 && j >= hi; step++) {
      const next = wordEdit(g, cur);
      const nj = jaccard(base, shingleHashes(next.join(' '), shingles));
      if (nj < lo) break;
      cur = next;
      j = nj;
    }
    if (j >= lo && j < hi) return { words: cur, jaccard: j };
  }
  return undefined;
}

const NEAR_BANDS = [
  [0.8, 0.85],
  [0.85, 0.9],
  [0.9, 0.95],
  [0.95, 1],
] as const;
const NEGATIVE_BANDS = [
  [0.5, 0.55],
  [0.55, 0.6],
  [0.6, 0.65],
  [0.65, 0.7],
] as const;

export interface Corpus {
  rows: CorpusRow[];
  /** How many rows of each kind were planted. */
  counts: Record<CorpusKind, number>;
}

export function generateCorpus(options: CorpusOptions = {}): Corpus {
  const baseDocs = options.baseDocs ?? 12_000;
  const nearDups = options.nearDups ?? 5_000;
  const exactDups = options.exactDups ?? 1_000;
  const hardNegatives = options.hardNegatives ?? 3_000;
  const shortFraction = options.shortFraction ?? 0.03;
  const minWords = options.minWords ?? 30;
  const maxWords = options.maxWords ?? 150;
  const shingles = options.shingles ?? {};
  const g = generator(options.seed ?? 42);
  if (nearDups + exactDups + hardNegatives > baseDocs) {
    throw new RangeError(
      'each base document gets at most one variant: need baseDocs ≥ nearDups + exactDups + hardNegatives',
    );
  }

  interface Draft {
    words: string[];
    kind: CorpusKind;
    base?: number;
    jaccard?: number;
  }
  const drafts: Draft[] = [];
  const shortCount = Math.round(baseDocs * shortFraction);
  for (let i = 0; i < baseDocs; i++) {
    if (i < shortCount) {
      // Short rows: a stock phrase with a word or two changed, so most are distinct.
      const words = SHORT_ROWS[i % SHORT_ROWS.length]!.split(' ');
      if (g.random() < 0.7) words[Math.floor(g.random() * words.length)] = g.word();
      drafts.push({ words, kind: 'short' });
    } else {
      drafts.push({
        words: paragraph(g, minWords + Math.floor(g.random() * (maxWords - minWords + 1))),
        kind: 'base',
      });
    }
  }

  // Variants of distinct long base documents.
  const longIds = drafts.flatMap((d, i) => (d.kind === 'base' ? [i] : []));
  for (let i = longIds.length - 1; i > 0; i--) {
    const j = Math.floor(g.random() * (i + 1));
    [longIds[i], longIds[j]] = [longIds[j]!, longIds[i]!];
  }
  let next = 0;
  const variants: Draft[] = [];
  for (let n = 0; n < exactDups; n++) {
    const b = longIds[next++]!;
    variants.push({ words: drafts[b]!.words, kind: 'exact', base: b, jaccard: 1 });
  }
  // Near duplicates: a share with case/punctuation edits only (J = 1, different text), the rest spread
  // evenly over four Jaccard bands; hard negatives likewise over four bands of [0.5, 0.7].
  const plans = [
    { count: nearDups, kind: 'near', bands: NEAR_BANDS, surfaceOnly: 0.15 },
    { count: hardNegatives, kind: 'negative', bands: NEGATIVE_BANDS, surfaceOnly: 0 },
  ] as const;
  for (const { count, kind, bands, surfaceOnly } of plans) {
    for (let made = 0; made < count; made++) {
      if (g.random() < surfaceOnly) {
        const b = longIds[next++]!;
        variants.push({ words: surfaceEdits(g, drafts[b]!.words), kind, base: b, jaccard: 1 });
        continue;
      }
      const [lo, hi] = bands[made % bands.length]!;
      let edited: { words: string[]; jaccard: number } | undefined;
      let b = -1;
      while (!edited) {
        if (next >= longIds.length)
          throw new Error(`ran out of base documents planting ${kind} rows; add some`);
        b = longIds[next++]!;
        edited = editToJaccard(g, drafts[b]!.words, lo, hi, shingles);
      }
      const words = kind === 'near' && g.random() < 0.5 ? surfaceEdits(g, edited.words) : edited.words;
      variants.push({ words, kind, base: b, jaccard: edited.jaccard });
    }
  }
  for (let i = 0; i < shortCount; i += 3) {
    variants.push({ words: surfaceEdits(g, drafts[i]!.words), kind: 'short-variant', base: i, jaccard: 1 });
  }

  // Shuffle everything, then renumber bases.
  const all = [...drafts, ...variants];
  const order = all.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(g.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const position = new Array<number>(all.length);
  order.forEach((from, to) => (position[from] = to));
  const counts: Record<CorpusKind, number> = {
    base: 0,
    near: 0,
    exact: 0,
    negative: 0,
    short: 0,
    'short-variant': 0,
  };
  const rows: CorpusRow[] = order.map((from, to) => {
    const d = all[from]!;
    counts[d.kind]++;
    const row: CorpusRow = { id: to, text: d.words.join(' '), kind: d.kind };
    if (d.base !== undefined) row.base = position[d.base]!;
    if (d.jaccard !== undefined) row.jaccard = d.jaccard;
    return row;
  });
  return { rows, counts };
}
