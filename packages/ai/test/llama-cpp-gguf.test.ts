/**
 * Our GGUF files are real GGUF for llama.cpp: a tiny LLaMA written with writeGguf (F32, F16, Q8_0)
 * and a LoRA adapter written with writeLoraAdapter load in llama.cpp (node-llama-cpp 3.22.1's
 * prebuilt CPU binary), its tokenizer agrees with ours, and its logits agree with the float64
 * forward pass in support/reference-llama.ts, which is the math our runtime must follow.
 *
 * What llama.cpp requires of a model file (src/llama-model.cpp, src/models/llama.cpp,
 * src/llama-vocab.cpp, src/llama-model-loader.cpp at the bundled release):
 * - `general.architecture` = "llama". Integer hyperparameters must be UINT32 and floats FLOAT32: the
 *   loader's get_key refuses any other type ("key ... has wrong type").
 * - Required: `llama.context_length`, `llama.embedding_length`, `llama.block_count`,
 *   `llama.attention.layer_norm_rms_epsilon` (required for arch llama only). Needed in practice:
 *   `llama.feed_forward_length` and `llama.attention.head_count` (default 0, which breaks the tensors).
 *   Optional: `llama.attention.head_count_kv` (default head_count), `llama.rope.freq_base` (default
 *   10000), `llama.rope.dimension_count` (must equal embedding_length / head_count for llama, or the
 *   load fails with "invalid n_rot"), `llama.vocab_size` (else the token list's length),
 *   `general.file_type` (else guessed from the tensor types), `general.alignment` (default 32).
 * - Tensors (ne = [nIn, nOut]): token_embd [dim, vocab]; per block attn_norm [dim], attn_q
 *   [dim, heads·hd], attn_k and attn_v [dim, kvHeads·hd], attn_output [heads·hd, dim], ffn_norm [dim],
 *   ffn_gate and ffn_up [dim, ffn], ffn_down [ffn, dim]; output_norm [dim]; output [dim, vocab] is
 *   optional and, when absent, token_embd is the lm_head (tied). 1-D norm gains are kept F32.
 * - Tokenizer: `tokenizer.ggml.model` = "gpt2" (byte-level BPE) needs `tokenizer.ggml.tokens`
 *   (STRING array) and `tokenizer.ggml.merges` (STRING array, "left right"), and a
 *   `tokenizer.ggml.pre` llama.cpp knows ("llama3" here: without it llama.cpp warns and uses
 *   'default'; an unknown name fails the load). `tokenizer.ggml.token_type` must be INT32; special ids
 *   (`bos_token_id`, `eos_token_id`, ...) are UINT32; `add_bos_token` is BOOL (the llama3 pre-tokenizer
 *   defaults it to true).
 * - LoRA adapter: `general.type` = "adapter", `adapter.type` = "lora", `adapter.lora.alpha` FLOAT32,
 *   `general.architecture` equal to the model's; "<weight>.lora_a" [nIn, r] and "<weight>.lora_b"
 *   [r, nOut] (src/llama-adapter.cpp). The applied delta is scale · alpha / r · B A (scale when alpha is
 *   0), r read from lora_b's ne[0]. Our test adapts every block matrix. Never adapt token_embd of a
 *   tied model: llama.cpp finds the adapter by name for the lm_head matmul too, where its transposed
 *   embedding layout does not fit, and the process aborts (GGML_ASSERT ggml_can_mul_mat; tried).
 *
 * Tolerances: F32 weights with an F32 KV cache agree to ~1e-6 (float32 accumulation only). With
 * F16 weights llama.cpp's CPU matmul rounds the activations to F16 (the vec_dot_type of F16), so
 * ~2e-3 relative. With Q8_0 weights it quantizes the activations to Q8_0 blocks; the reference does
 * the same (q8_0Activations) and then agrees to ~1e-7, which also proves llama.cpp reads our Q8_0
 * blocks exactly as we write them. The default F16 KV cache costs ~3e-3. Wrong conventions (NeoX RoPE
 * pairs, another GQA grouping) miss by ~100%, far outside every tolerance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GgmlType,
  GgufFile,
  loraScale,
  writeLoraAdapter,
  type WritableTensorType,
} from '../src/gguf/index.ts';
import {
  closeLlamaCppModel,
  llamaCppDetokenize,
  llamaCppGreedyDecode,
  llamaCppLogits,
  llamaCppNextTokenLogits,
  llamaCppTokenize,
  loadLlamaCppRuntime,
  openLlamaCppModel,
  type LlamaCppModel,
} from '../src/reference/index.ts';
import { createTokenizer, trainByteLevelBpe } from '../src/tokenizer/index.ts';
import { referenceLogits, type ReferenceOptions } from './support/reference-llama.ts';
import { useTempDir } from './support/temp-dir.ts';
import {
  blockMatrices,
  randomLora,
  randomTinyLlama,
  writeTinyLlama,
  type TinyLlamaConfig,
} from './support/tiny-llama.ts';

const TRAINING_TEXT = [
  'The quick brown fox jumps over the lazy dog. A small model reads simple English sentences.',
  'It was a bright cold day in April, and the clocks were striking thirteen. The cat sat on the mat.',
  "Numbers like 12345 and 3.14 appear too, as do names such as Alice and Bob, and words like don't and it's.",
  'She said: "We will meet at 10:30 tomorrow morning, near the old bridge over the river."',
  'Birds sing in the trees; children play in the park; the sun sets slowly behind the hills.',
];

/** Strings that exercise the llama3 pre-tokenizer: contractions, digit groups, spaces, newlines, non-ASCII. */
const SAMPLES = [
  'The cat sat on the mat.',
  "I'm sure they've said it's fine, DON'T worry; we'll see.",
  'In 2024 there were 1234567 people and 3.14159 pies.',
  '  leading spaces,   runs of   spaces and trailing  ',
  'Line one\nLine two\r\n\n\tTabbed line',
  'Café naïve résumé — “quotes” and emoji 🙂👍🏽 and 中文字符',
  'hello<|end_of_text|>world',
];

const SPECIALS = ['<|begin_of_text|>', '<|end_of_text|>'];
const spec = trainByteLevelBpe(TRAINING_TEXT, { vocabSize: 400, specialTokens: SPECIALS });
const ours = createTokenizer(spec);

const config: TinyLlamaConfig = {
  vocabSize: spec.tokens.length,
  contextLength: 256,
  dim: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  ffn: 128,
  rmsEps: 1e-5,
  ropeBase: 10000,
};
const model = randomTinyLlama(config, 20240611);
const PROMPT = ours.encode('The cat sat on the mat, and the quick brown fox said: "it\'s 10:30".', {
  addBos: true,
});

const file = useTempDir('llama-cpp');

/** The weights as llama.cpp sees them: read back (dequantized) from the file we wrote. */
async function readWeights(path: string): Promise<Map<string, Float32Array>> {
  const gguf = await GgufFile.open(path);
  try {
    const weights = new Map<string, Float32Array>();
    for (const tensor of gguf.tensors) weights.set(tensor.name, await gguf.readTensor(tensor.name));
    return weights;
  } finally {
    await gguf.close();
  }
}

/** Largest relative error over positions: ‖got − want‖₂ / ‖want‖₂ of each logits vector. */
function relativeError(got: readonly Float32Array[], want: readonly Float64Array[]): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  got.forEach((logits, p) => {
    let diff = 0;
    let norm = 0;
    logits.forEach((value, i) => {
      diff += (value - want[p]![i]!) ** 2;
      norm += want[p]![i]! ** 2;
    });
    worst = Math.max(worst, Math.sqrt(diff / norm));
  });
  return worst;
}

const VARIANTS: {
  label: string;
  type: WritableTensorType;
  tolerance: number;
  reference: ReferenceOptions;
}[] = [
  { label: 'F32', type: GgmlType.F32, tolerance: 1e-5, reference: {} },
  { label: 'F16', type: GgmlType.F16, tolerance: 1e-2, reference: {} },
  { label: 'Q8_0', type: GgmlType.Q8_0, tolerance: 1e-5, reference: { q8_0Activations: true } },
];

describe('our GGUF files in llama.cpp', () => {
  it('runs on the prebuilt CPU binary from npm, never a local build', async () => {
    const llama = await loadLlamaCppRuntime();
    expect(llama.buildType).toBe('prebuilt');
    expect(llama.gpu).toBe(false);
  });

  const paths = new Map<string, string>();
  beforeAll(async () => {
    for (const { label, type } of VARIANTS) {
      const path = file(`tiny-${label}.gguf`);
      await writeTinyLlama(path, model, spec, type);
      paths.set(label, path);
    }
  });

  describe.each(VARIANTS)('$label model', ({ label, tolerance, reference }) => {
    let llama: LlamaCppModel;
    let weights: Map<string, Float32Array>;
    beforeAll(async () => {
      const path = paths.get(label)!;
      weights = await readWeights(path);
      llama = await openLlamaCppModel({ modelPath: path, contextSize: 256, kvCacheType: 'F32' });
    });
    afterAll(async () => {
      if (llama) await closeLlamaCppModel(llama);
    });

    it('loads with our vocabulary and special tokens', () => {
      expect(llama.vocabSize).toBe(spec.tokens.length);
      expect(llama.bosId).toBe(spec.bosId);
      expect(llama.eosId).toBe(spec.eosId);
    });

    it('tokenizes as our tokenizer does', () => {
      for (const text of SAMPLES) {
        expect(llamaCppTokenize(llama, text), text).toEqual(ours.encode(text, { addBos: false }));
        expect(llamaCppTokenize(llama, text, { special: true }), text).toEqual(
          ours.encode(text, { addBos: false, special: true }),
        );
        expect(llamaCppDetokenize(llama, ours.encode(text, { addBos: false }))).toBe(text);
      }
    });

    it('gives the reference forward pass logits at every position', async () => {
      const got = await llamaCppLogits(llama, PROMPT);
      for (const logits of got) expect(logits.every(Number.isFinite)).toBe(true);
      const error = relativeError(got, referenceLogits(config, weights, PROMPT, reference));
      expect(error).toBeLessThan(tolerance);
    });

    it('next-token logits equal the last position of a full evaluation, up to float32 rounding', async () => {
      // Not bit-equal: with one output llama.cpp drops the other rows before the last block's FFN
      // (inp_out_ids), so the matmuls have other shapes and accumulate in another order.
      const all = await llamaCppLogits(llama, PROMPT);
      const next = await llamaCppNextTokenLogits(llama, PROMPT);
      expect(relativeError([next], [Float64Array.from(all.at(-1)!)])).toBeLessThan(1e-6);
    });
  });

  describe('conventions (F32 model, exact comparison)', () => {
    let llama: LlamaCppModel;
    let got: Float32Array[];
    beforeAll(async () => {
      llama = await openLlamaCppModel({ modelPath: paths.get('F32')!, contextSize: 256, kvCacheType: 'F32' });
      got = await llamaCppLogits(llama, PROMPT);
    });
    afterAll(async () => {
      if (llama) await closeLlamaCppModel(llama);
    });

    it('RoPE rotates adjacent pairs (2i, 2i+1), not NeoX halves', () => {
      const halves = relativeError(
        got,
        referenceLogits(config, model.weights, PROMPT, { ropePairs: 'halves' }),
      );
      expect(halves).toBeGreaterThan(0.1);
    });

    it('query head h reads KV head h / (heads / kvHeads), not h % kvHeads', () => {
      const modulo = relativeError(
        got,
        referenceLogits(config, model.weights, PROMPT, { kvHeadOf: 'modulo' }),
      );
      expect(modulo).toBeGreaterThan(0.1);
    });

    it('greedy decoding follows the reference argmax', async () => {
      const steps = 6;
      const decoded = await llamaCppGreedyDecode(llama, PROMPT, steps);
      const tokens = [...PROMPT];
      for (let i = 0; i < steps; i++) {
        const logits = referenceLogits(config, model.weights, tokens).at(-1)!;
        tokens.push(logits.indexOf(Math.max(...logits)));
      }
      expect(decoded).toEqual(tokens.slice(PROMPT.length));
    });

    it("with llama.cpp's default F16 KV cache the logits stay within 1e-2", async () => {
      const f16Cache = await openLlamaCppModel({ modelPath: paths.get('F32')!, contextSize: 256 });
      try {
        const error = relativeError(
          await llamaCppLogits(f16Cache, PROMPT),
          referenceLogits(config, model.weights, PROMPT),
        );
        expect(error).toBeLessThan(1e-2);
        expect(error).toBeGreaterThan(1e-6); // the cache really is F16
      } finally {
        await closeLlamaCppModel(f16Cache);
      }
    });
  });

  describe('LoRA adapter', () => {
    const rank = 4;
    const alpha = 8;
    const userScale = 0.5;
    const layers = randomLora(model, [0, 1].flatMap(blockMatrices), rank, 99);
    let adapted: LlamaCppModel;
    let base: LlamaCppModel;
    beforeAll(async () => {
      const path = file('adapter.gguf');
      await writeLoraAdapter(path, { architecture: 'llama', alpha, rank, layers });
      const modelPath = paths.get('F32')!;
      base = await openLlamaCppModel({ modelPath, contextSize: 256, kvCacheType: 'F32' });
      adapted = await openLlamaCppModel({
        modelPath,
        contextSize: 256,
        kvCacheType: 'F32',
        adapters: [{ path, scale: userScale }],
      });
    });
    afterAll(async () => {
      if (adapted) await closeLlamaCppModel(adapted);
      if (base) await closeLlamaCppModel(base);
    });

    it('changes the logits', async () => {
      const plain = await llamaCppLogits(base, PROMPT);
      const withAdapter = await llamaCppLogits(adapted, PROMPT);
      for (const logits of withAdapter) expect(logits.every(Number.isFinite)).toBe(true);
      const moved = relativeError(
        withAdapter,
        plain.map((l) => Float64Array.from(l)),
      );
      expect(moved).toBeGreaterThan(0.05);
    });

    it('adds scale · alpha / rank · B (A x) to every adapted matmul', async () => {
      const want = referenceLogits(config, model.weights, PROMPT, {
        adapters: [{ layers, scale: userScale * loraScale(alpha, rank) }],
      });
      expect(relativeError(await llamaCppLogits(adapted, PROMPT), want)).toBeLessThan(1e-5);
    });
  });
});
