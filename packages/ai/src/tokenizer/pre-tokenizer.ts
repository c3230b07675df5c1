/**
 * Pre-tokenization for byte-level BPE: the text is cut into words by the regexes of the model's
 * `tokenizer.ggml.pre` variant, and BPE merges never cross a word boundary. As in llama.cpp's
 * `unicode_regex_split`, a variant is a list of regexes applied in turn, each one cutting every piece left
 * by the previous one into its matches and the gaps between them (gaps are kept, so no text is lost).
 *
 * `\s` is spelled `\p{White_Space}` here: JavaScript's `\s` also matches U+FEFF, which neither llama.cpp nor
 * the Hugging Face tokenizers count as whitespace.
 */

export interface PreTokenizer {
  /** The canonical variant name. */
  readonly name: string;
  /** Emit a word that is itself a vocabulary entry as is, without merging (Hugging Face `ignore_merges`). */
  readonly ignoreMerges: boolean;
  /** llama.cpp's `add_bos` default for this variant, when the GGUF does not say. */
  readonly addBos: boolean;
  split(text: string): string[];
}

function regex(source: string): RegExp {
  return new RegExp(source.replaceAll('\\s', '\\p{White_Space}').replaceAll('\\S', '\\P{White_Space}'), 'gu');
}

const CONTRACTIONS = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;
const GPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`;
const llama3Like = (digits: string): string =>
  `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|${digits}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const UPPER = `[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]`;
const LOWER = `[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]`;
const casedWords = (suffix: string, digits: string): string =>
  `[^\\r\\n\\p{L}\\p{N}]?${UPPER}*${LOWER}+${suffix}|[^\\r\\n\\p{L}\\p{N}]?${UPPER}+${LOWER}*${suffix}|` +
  `${digits}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

interface Variant {
  regexes: string[];
  ignoreMerges?: boolean;
  addBos?: boolean;
  aliases?: string[];
}

// The names and regexes follow llama.cpp's llama-vocab.cpp (load() and the llm_tokenizer_bpe constructor).
const VARIANTS: Record<string, Variant> = {
  default: {
    regexes: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
  },
  'gpt-2': {
    regexes: [GPT2],
    aliases: ['gpt2', 'phi-2', 'mpt', 'olmo', 'jais', 'trillion', 'exaone4', 'roberta-bpe'],
  },
  llama3: {
    regexes: [llama3Like('\\p{N}{1,3}')],
    ignoreMerges: true,
    addBos: true,
    aliases: ['llama-bpe', 'llama-v3', 'falcon3', 'falcon-h1', 'pixtral', 'lfm2'],
  },
  dbrx: { regexes: [llama3Like('\\p{N}{1,3}')], aliases: ['smaug-bpe'] },
  qwen2: {
    regexes: [llama3Like('\\p{N}')],
    aliases: ['deepseek-r1-qwen', 'stablelm2', 'megrez', 'hunyuan'],
  },
  smollm: {
    regexes: ['\\p{N}', GPT2],
    aliases: ['starcoder', 'refact', 'command-r', 'codeshell', 'exaone', 'minerva-7b'],
  },
  tekken: { regexes: [casedWords('', '\\p{N}')], ignoreMerges: true, addBos: true },
  'gpt-4o': { regexes: [casedWords(`${CONTRACTIONS}?`, '\\p{N}{1,3}')], aliases: ['llama4'] },
};

const BY_NAME = new Map<string, { name: string; variant: Variant }>();
for (const [name, variant] of Object.entries(VARIANTS)) {
  BY_NAME.set(name, { name, variant });
  for (const alias of variant.aliases ?? []) BY_NAME.set(alias, { name, variant });
}

/** Every accepted `tokenizer.ggml.pre` value. */
export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = [...BY_NAME.keys()].sort();

function refine(pieces: string[], re: RegExp): string[] {
  const out: string[] = [];
  for (const piece of pieces) {
    let last = 0;
    re.lastIndex = 0;
    for (let match = re.exec(piece); match; match = re.exec(piece)) {
      const text = match[0];
      if (text.length === 0) {
        // None of the variants can match empty text; this only keeps a future one from looping forever.
        re.lastIndex += piece.codePointAt(re.lastIndex)! > 0xffff ? 2 : 1;
        continue;
      }
      if (match.index > last) out.push(piece.slice(last, match.index));
      out.push(text);
      last = match.index + text.length;
    }
    if (last < piece.length) out.push(last === 0 ? piece : piece.slice(last));
  }
  return out;
}

/** The pre-tokenizer for a `tokenizer.ggml.pre` value; absent or empty means 'default', as in llama.cpp. */
export function getPreTokenizer(pre: string | undefined): PreTokenizer {
  const found = BY_NAME.get(pre || 'default');
  if (!found) {
    throw new Error(
      `tokenizer: unsupported pre-tokenizer ${JSON.stringify(pre)}; supported: ${SUPPORTED_PRE_TOKENIZERS.join(', ')}`,
    );
  }
  const regexes = found.variant.regexes.map(regex);
  return {
    name: found.name,
    ignoreMerges: found.variant.ignoreMerges ?? false,
    addBos: found.variant.addBos ?? false,
    split(text: string): string[] {
      let pieces = text.length > 0 ? [text] : [];
      for (const re of regexes) pieces = refine(pieces, re);
      return pieces;
    },
  };
}
