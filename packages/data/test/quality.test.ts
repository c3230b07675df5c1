import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rowFeatures } from '../src/quality/row-features.ts';
import { scoreContribution } from '../src/quality/score-contribution.ts';
import { contextFactor, RULES, scoreRow } from '../src/quality/score-row.ts';

const PROSE = [
  'The river rises in the northern hills and flows south through a broad valley, where farmers have grown wheat and barley for centuries. In spring the water is high and cold, and the old stone bridge at the edge of the town is sometimes closed for a few days.',
  'Photosynthesis is the process by which green plants use sunlight to make their own food. It takes place mainly in the leaves, where a pigment called chlorophyll absorbs light energy.',
  'After the meeting, the committee agreed to spend more of the budget on schools and public libraries, and it asked the mayor to report back on the plan before the end of the year.',
];

const score = (text: string): ReturnType<typeof scoreRow> => scoreRow(rowFeatures(text));
const ruleIds = (reasons: string[]): string[] => reasons.map((r) => r.slice(0, r.indexOf(':')));

describe('rowFeatures', () => {
  it('measures lengths and character ratios', () => {
    const f = rowFeatures('Hello World, 42 times!');
    expect(f.chars).toBe(22);
    expect(f.words).toBe(4);
    expect(f.meanWordLength).toBeCloseTo((5 + 5 + 2 + 5) / 4);
    expect(f.alphaRatio).toBeCloseTo(15 / 22);
    expect(f.digitRatio).toBeCloseTo(2 / 22);
    expect(f.punctuationRatio).toBeCloseTo(2 / 22);
    expect(f.whitespaceRatio).toBeCloseTo(3 / 22);
    expect(f.uppercaseRatio).toBeCloseTo(2 / 15);
    expect(f.nonAsciiRatio).toBe(0);
    expect(f.alphaWordRatio).toBeCloseTo(3 / 4);
  });

  it('counts code points, not UTF-16 units', () => {
    const f = rowFeatures('naïve 🌍 café');
    expect(f.chars).toBe(12);
    expect(f.nonAsciiRatio).toBeCloseTo(3 / 12);
  });

  it('measures repetition', () => {
    const f = rowFeatures('a b c\na b c\nd e f\na b c');
    expect(f.lines).toBe(4);
    expect(f.duplicateLineFraction).toBeCloseTo(0.5);
    expect(rowFeatures('one two three one two three one two three').duplicateTrigramFraction).toBeCloseTo(
      4 / 7,
    );
    expect(rowFeatures('Wow!!!!!!!!!! ok').maxCharRun).toBe(10);
    expect(rowFeatures('a a a a b').uniqueWordRatio).toBeCloseTo(2 / 5);
    expect(rowFeatures('Wait... what # is #this').symbolToWordRatio).toBeCloseTo(3 / 5);
  });

  it('computes the English stop-word ratio and skips it for other languages', () => {
    expect(rowFeatures(PROSE[0]!).stopWordRatio).toBeGreaterThan(0.3);
    expect(rowFeatures(PROSE[0]!).language).toBe('en');
    const fr = rowFeatures(
      "Le renard brun saute par-dessus le chien paresseux et puis il s'enfuit dans la forêt pour ne plus jamais revenir.",
    );
    expect(fr.language).toBe('fr');
    expect(fr.stopWordRatio).toBeNull();
    const de = rowFeatures(
      'Der schnelle braune Fuchs springt über den faulen Hund und rennt dann in den Wald, wo er sich versteckt.',
    );
    expect(de.stopWordRatio).toBeNull();
    expect(rowFeatures('光合作用是绿色植物利用阳光制造自身养分的过程。').stopWordRatio).toBeNull();
    expect(rowFeatures(PROSE[1]!, { language: 'de' }).stopWordRatio).toBeNull();
    expect(rowFeatures('le chien et le chat', { language: 'eng' }).stopWordRatio).toBe(0);
  });
});

describe('scoreRow', () => {
  it('scores clean prose high with no reasons', () => {
    for (const text of PROSE) {
      const s = score(text);
      expect(s.score).toBeGreaterThanOrEqual(0.95);
      expect(s.reasons).toEqual([]);
    }
  });

  it('does not penalise other languages for English stop words', () => {
    expect(
      score(
        'La fotosíntesis es el proceso por el cual las plantas verdes usan la luz del sol para producir su propio alimento.',
      ).score,
    ).toBe(1);
    expect(
      score('光合作用是绿色植物利用阳光制造自身养分的过程，主要发生在叶子中，叶绿素吸收光能。').score,
    ).toBe(1);
  });

  it('scores gibberish low', () => {
    const s = score('xkqz vbrtl qwpfgh zzmkv plrtq wxcvbn gfhdj rtyqp mnbvx lkjhg qrst fdgh asdkjh qwpoeiru');
    expect(s.score).toBeLessThan(0.4);
    expect(ruleIds(s.reasons)).toEqual(expect.arrayContaining(['stop-words', 'vowelless-words']));
  });

  it('scores repeated lines and repeated phrases low', () => {
    const lines = score(
      'Click here to win a prize\nClick here to win a prize\nClick here to win a prize\nClick here to win a prize\nVisit our site',
    );
    expect(lines.score).toBeLessThan(0.4);
    expect(ruleIds(lines.reasons)).toContain('duplicate-lines');
    const phrase = score(Array(10).fill('buy the cheap watches').join(' '));
    expect(phrase.score).toBeLessThan(0.5);
    expect(ruleIds(phrase.reasons)).toEqual(expect.arrayContaining(['duplicate-trigrams', 'unique-words']));
  });

  it('scores symbol soup low', () => {
    const s = score('#### $$$$ @@@ !!! ~~~ %%% ^^^ &&& *** ((( ))) ### +++ === |||');
    expect(s.score).toBeLessThan(0.1);
    expect(ruleIds(s.reasons)).toEqual(
      expect.arrayContaining(['alpha-words', 'punctuation', 'symbol-to-word']),
    );
  });

  it('scores all-caps spam low', () => {
    const s = score(
      'BUY NOW!!!!!!!!!! CHEAP PILLS AT THE BEST PRICE ON THE INTERNET, CLICK HERE AND ORDER TODAY FOR FREE SHIPPING',
    );
    expect(s.score).toBeLessThan(0.4);
    expect(ruleIds(s.reasons)).toEqual(expect.arrayContaining(['uppercase', 'char-run']));
  });

  it('penalises digit dumps, very short rows and near-duplicate-heavy contributions', () => {
    expect(score('ID 4839201 4839202 4839203 4839204 4839205 4839206 4839207').score).toBeLessThan(0.3);
    const short = score('Thanks!');
    expect(short.score).toBeLessThan(1);
    expect(short.score).toBeGreaterThan(0.7);
    const f = rowFeatures(PROSE[0]!);
    expect(scoreRow(f, { nearDupDensity: 0.05 }).score).toBe(1);
    const dense = scoreRow(f, { nearDupDensity: 0.6 });
    expect(dense.score).toBeCloseTo(0.7);
    expect(ruleIds(dense.reasons)).toEqual(['near-duplicates']);
  });

  it('applies the contribution-level factor as a separate multiplier', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PROSE, 'BUY CHEAP WATCHES NOW', 'Thanks!'),
        fc.double({ min: 0, max: 1 }),
        (text, d) => {
          const f = rowFeatures(text);
          const expected = scoreRow(f, { nearDupDensity: d }).score;
          expect(scoreRow(f).score * contextFactor({ nearDupDensity: d })).toBeCloseTo(expected, 12);
        },
      ),
    );
    expect(contextFactor({ nearDupDensity: 0.6 })).toBeCloseTo(0.7);
    expect(contextFactor({})).toBe(1);
  });

  it('multiplies the documented penalties', () => {
    const s = score('BUY CHEAP WATCHES NOW');
    // uppercase (weight 0.6, 100 % caps) and short (weight 0.2, 4 words → severity 0.25).
    expect(s.score).toBeCloseTo((1 - 0.6) * (1 - 0.2 * 0.25));
    expect(RULES.every((r) => r.weight > 0 && r.weight <= 1)).toBe(true);
  });
});

describe('scoreContribution', () => {
  const NO_ROWS = { unique: 0, near: 0, exact: 0 };
  it('summarises row scores and duplicates', () => {
    const scores = [1, 0.95, 0.9, 0.85, 0.8, 0.5, 0.05, 1, 1, 0.99];
    const c = scoreContribution(
      scores.map((score) => ({ score, reasons: [] })),
      { unique: 3, near: 1, exact: 1 },
    );
    expect(c.rows).toBe(10);
    expect(c.mean).toBeCloseTo(8.04 / 10);
    expect(c.p10).toBe(0.05);
    expect(c.histogram).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 2, 6]);
    expect(c.nearDupDensity).toBeCloseTo(0.2);
    expect(c.duplicateRate).toBeCloseTo(0.4);
  });

  it('handles empty input and rejects scores outside [0, 1]', () => {
    expect(scoreContribution([], NO_ROWS)).toEqual({
      rows: 0,
      mean: 0,
      p10: 0,
      histogram: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      nearDupDensity: 0,
      duplicateRate: 0,
    });
    expect(() => scoreContribution([1.2], NO_ROWS)).toThrow(RangeError);
  });
});
