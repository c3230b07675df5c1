import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Rng, byteLevelToBytes, type Tokenizer, type TrainingExample } from '../../src/index.ts';

/*
 * The pretraining data as token windows. Each corpus line (one document) becomes
 * BOS, its tokens, EOS; the documents are concatenated in file order into one stream, which is cut
 * into windows of contextLength + 1 tokens that overlap by one (the last token of a window is the
 * first of the next), so every token after the first is a target exactly once. Targets that are BOS
 * are masked: after EOS it is certain, and would flatter the loss.
 *
 * Training visits the windows in a seeded random order, a new permutation each epoch, so the batch
 * of any step is a function of (seed, step) alone and a resumed run sees what a straight run sees.
 */

/** A corpus file tokenized into one stream (Uint16: the vocabulary is below 65536). */
export interface TokenStream {
  readonly tokens: Uint16Array;
  readonly documents: number;
}

/**
 * Tokenizes `corpusPath` (one document per line) into a stream. The tokens are cached in `cachePath`
 * (little-endian uint16) beside `cachePath`.json, which records the hash of the tokenizer and the
 * text they came from; a cache for other inputs is recomputed.
 */
export async function tokenStream(
  corpusPath: string,
  tokenizer: Tokenizer,
  tokenizerHash: string,
  cachePath: string,
): Promise<TokenStream> {
  const text = await readFile(corpusPath, 'utf8');
  const key = createHash('sha256').update(tokenizerHash).update('\0').update(text).digest('hex');
  try {
    const meta = JSON.parse(await readFile(`${cachePath}.json`, 'utf8')) as {
      key: string;
      documents: number;
    };
    if (meta.key === key) {
      const bytes = await readFile(cachePath);
      const tokens = new Uint16Array(bytes.length / 2);
      new Uint8Array(tokens.buffer).set(bytes);
      return { tokens, documents: meta.documents };
    }
  } catch {
    // No cache yet, or an unreadable one: tokenize.
  }
  const bos = tokenizer.bosId!;
  const eos = tokenizer.eosId!;
  const ids: number[] = [];
  let documents = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    ids.push(bos);
    for (const id of tokenizer.encode(line, { addBos: false })) ids.push(id);
    ids.push(eos);
    documents++;
  }
  const tokens = Uint16Array.from(ids);
  await writeFile(cachePath, new Uint8Array(tokens.buffer));
  await writeFile(`${cachePath}.json`, `${JSON.stringify({ key, documents, tokens: tokens.length })}\n`);
  return { tokens, documents };
}

/** The stream's windows of `length` + 1 tokens (length targets each); the tail that does not fill one is dropped. */
export function windowCount(stream: TokenStream, length: number): number {
  return Math.max(0, Math.floor((stream.tokens.length - 1) / length));
}

/** Window `index` as a training example, BOS targets masked. */
export function windowExample(
  stream: TokenStream,
  length: number,
  index: number,
  bosId: number,
): TrainingExample {
  const tokens = Array.from(stream.tokens.subarray(index * length, index * length + length + 1));
  const mask = tokens.map((t, i) => (i === 0 || t === bosId ? 0 : 1));
  return { tokens, mask };
}

/** The windows of one epoch in a seeded random order (Fisher-Yates). */
export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  const rng = new Rng(seed * 1_000_003 + epoch);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.nextU32() % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** The window indices of `step`'s batch: consecutive slices of the epoch orders. */
export function batchWindows(step: number, batch: number, count: number, seed: number): number[] {
  const out: number[] = [];
  let orderEpoch = -1;
  let order: Uint32Array = new Uint32Array(0);
  for (let i = 0; i < batch; i++) {
    const position = step * batch + i;
    const epoch = Math.floor(position / count);
    if (epoch !== orderEpoch) {
      order = epochOrder(count, seed, epoch);
      orderEpoch = epoch;
    }
    out.push(order[position % count]!);
  }
  return out;
}

/** UTF-8 bytes each token stands for: its bytes for text, 1 for EOS (the document's newline), 0 for other specials. */
export function tokenByteLengths(tokenizer: Tokenizer): Uint8Array {
  const out = new Uint8Array(tokenizer.vocabSize);
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    if (id === tokenizer.eosId) out[id] = 1;
    else if (tokenizer.tokenType(id) === 1) out[id] = byteLevelToBytes(tokenizer.tokenText(id)).length;
  }
  return out;
}
