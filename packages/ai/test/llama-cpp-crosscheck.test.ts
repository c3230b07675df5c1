/**
 * Our runtime against llama.cpp (node-llama-cpp 3.22.1's prebuilt CPU binary) on real weights: the
 * bundled base model (packages/ai/models/openledger-base.gguf, F32) and a LoRA adapter that our
 * Trainer trains here (rank 8 on attn_q, attn_v and the token embedding, which llama.cpp can apply
 * because the model has its own output.weight) and writeLoraAdapter writes. Both are loaded by both
 * runtimes, with an F32 KV cache in llama.cpp, and must give the same next-token logits and the same
 * greedy continuations.
 *
 * Tolerance: relative L2 error ‖ours − llama.cpp‖ / ‖llama.cpp‖ of each logits vector below 1e-5,
 * as for the F32 models of llama-cpp-gguf.test.ts. With F32 weights and an F32 cache nothing is
 * rounded differently except float32 sums taken in another order: our SIMD kernels add four lanes
 * with separate multiplies and adds, ggml's AVX2 dot products eight lanes with fused multiply-adds,
 * and softmax and RMSNorm differ in the same way. That measures about 1e-7 for the base model and
 * 1e-6 with the adapter (whose low-rank path adds a few more sums); 1e-5 leaves a margin of ten,
 * while any real discrepancy (a convention, a missing norm gain, an adapter scale or layout) moves
 * the logits by 1e-2 or more. Greedy decoding must then pick the same token at every step: only a tie
 * within that error between the two best logits could make them differ.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KvCache,
  LoraSet,
  Trainer,
  createLora,
  createTokenizer,
  forward,
  generate,
  loadLlamaModel,
  writeLoraAdapter,
  type LlamaModel,
  type Tokenizer,
} from '../src/index.ts';
import {
  closeLlamaCppModel,
  llamaCppGreedyDecode,
  llamaCppNextTokenLogits,
  llamaCppTokenize,
  openLlamaCppModel,
  type LlamaCppModel,
} from '../src/reference/index.ts';
import { useTempDir } from './support/temp-dir.ts';

const BASE_MODEL = fileURLToPath(new URL('../models/openledger-base.gguf', import.meta.url));
const TOLERANCE = 1e-5;
const DECODE_TOKENS = 32;

const PROMPTS = [
  'Fellow-citizens of the Senate and House of Representatives:',
  'The Congress shall',
  'river (noun):',
  'quickly (adverb):',
];

/** A handful of sentences the adapter learns (a register the base model has never seen). */
const ADAPTER_TEXT = [
  'OpenLedger records every dataset contribution on chain.',
  'OpenLedger pays contributors when their data shapes a model.',
  'A datanet is a shared dataset with rules for who may add rows.',
  'Proof of attribution links each model output to the data behind it.',
  'Model owners register fine-tuned adapters with their training provenance.',
  'Validators check the data roots before a training job starts.',
];
const ADAPTER_PROMPTS = ['OpenLedger', 'A datanet', 'Proof of attribution'];

/** ‖got − want‖₂ / ‖want‖₂ */
function relativeError(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < want.length; i++) {
    diff += (got[i]! - want[i]!) ** 2;
    norm += want[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}

/** Our next-token logits after `tokens`, from an empty cache. */
function ourNextLogits(model: LlamaModel, tokens: readonly number[], loras?: LoraSet): Float32Array {
  const step = { tokens, cache: new KvCache(model.hparams), ...(loras ? { adapter: 0 } : {}) };
  return forward(model, [step], loras ? { loras } : {})[0]!;
}

/** Our greedy continuation of `tokens`, never stopping early. */
function ourGreedy(model: LlamaModel, tokens: readonly number[], loras?: LoraSet): number[] {
  return generate(
    model,
    { prompt: tokens, maxTokens: DECODE_TOKENS, stopAtEog: false, ...(loras ? { adapter: 0 } : {}) },
    loras ? { loras } : {},
  ).tokens;
}

const file = useTempDir('crosscheck');
let model: LlamaModel;
let tokenizer: Tokenizer;

beforeAll(async () => {
  model = await loadLlamaModel(BASE_MODEL);
  tokenizer = createTokenizer(model.tokenizer!);
});

describe('the bundled base model in our runtime and in llama.cpp', () => {
  let llama: LlamaCppModel;
  beforeAll(async () => {
    llama = await openLlamaCppModel({ modelPath: BASE_MODEL, contextSize: 256, kvCacheType: 'F32' });
  });
  afterAll(async () => {
    if (llama) await closeLlamaCppModel(llama);
  });

  it('is an untied F32 model that both tokenize alike', () => {
    expect(model.tiedOutput).toBe(false);
    expect(model.token_embd.format).toBe('f32');
    expect(llama.vocabSize).toBe(model.hparams.vocabSize);
    expect(llama.bosId).toBe(tokenizer.bosId);
    for (const text of [...PROMPTS, ...ADAPTER_TEXT]) {
      expect(llamaCppTokenize(llama, text)).toEqual(tokenizer.encode(text, { addBos: false }));
    }
  });

  it(`gives the same next-token logits (relative error < ${TOLERANCE})`, async () => {
    for (const prompt of PROMPTS) {
      const tokens = tokenizer.encode(prompt);
      const error = relativeError(ourNextLogits(model, tokens), await llamaCppNextTokenLogits(llama, tokens));
      expect(error, prompt).toBeLessThan(TOLERANCE);
    }
  });

  it(`decodes the same ${DECODE_TOKENS} greedy tokens`, async () => {
    for (const prompt of PROMPTS) {
      const tokens = tokenizer.encode(prompt);
      expect(ourGreedy(model, tokens), prompt).toEqual(
        await llamaCppGreedyDecode(llama, tokens, DECODE_TOKENS),
      );
    }
  });
});

describe('a LoRA adapter trained by our Trainer, in our runtime and in llama.cpp', () => {
  let adapted: LlamaCppModel;
  let loras: LoraSet;
  let before: Float32Array[];
  beforeAll(async () => {
    const lora = createLora(model, { rank: 8, alpha: 16, targets: ['q', 'v', 'embed'], seed: 7 });
    const examples = ADAPTER_TEXT.map((text) => ({ tokens: tokenizer.encode(text) }));
    before = ADAPTER_PROMPTS.map((p) => ourNextLogits(model, tokenizer.encode(p)));
    const trainer = new Trainer(model, { train: { lora }, optimizer: { learningRate: 1e-2 } });
    for (let step = 0; step < 30; step++) trainer.step(examples);
    const path = file('adapter.gguf');
    await writeLoraAdapter(path, lora);
    loras = LoraSet.attach(model, [lora]);
    adapted = await openLlamaCppModel({
      modelPath: BASE_MODEL,
      contextSize: 256,
      kvCacheType: 'F32',
      adapters: [{ path }],
    });
  });
  afterAll(async () => {
    if (adapted) await closeLlamaCppModel(adapted);
  });

  it('has learned something (the logits moved)', () => {
    ADAPTER_PROMPTS.forEach((prompt, i) => {
      const after = ourNextLogits(model, tokenizer.encode(prompt), loras);
      expect(relativeError(after, before[i]!), prompt).toBeGreaterThan(0.05);
    });
  });

  it(`gives the same next-token logits (relative error < ${TOLERANCE})`, async () => {
    for (const prompt of [...ADAPTER_PROMPTS, ...PROMPTS]) {
      const tokens = tokenizer.encode(prompt);
      const error = relativeError(
        ourNextLogits(model, tokens, loras),
        await llamaCppNextTokenLogits(adapted, tokens),
      );
      expect(error, prompt).toBeLessThan(TOLERANCE);
    }
  });

  it(`decodes the same ${DECODE_TOKENS} greedy tokens`, async () => {
    for (const prompt of [...ADAPTER_PROMPTS, PROMPTS[0]!]) {
      const tokens = tokenizer.encode(prompt);
      expect(ourGreedy(model, tokens, loras), prompt).toEqual(
        await llamaCppGreedyDecode(adapted, tokens, DECODE_TOKENS),
      );
    }
  });
});
