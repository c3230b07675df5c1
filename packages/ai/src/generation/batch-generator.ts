import type { LoraSet } from '../lora/lora-set.ts';
import { forward, type SequenceStep } from '../model/forward.ts';
import { KvCache } from '../model/kv-cache.ts';
import type { LlamaModel } from '../model/llama-model.ts';
import { ModelError } from '../model/model-error.ts';
import type { StreamDecoder, Tokenizer } from '../tokenizer/index.ts';
import { Rng } from './rng.ts';
import { sampleToken, type SamplingOptions } from './sampler.ts';
import { StopMatcher } from './stop-sequences.ts';

export interface GenerationRequest {
  /** Prompt token ids, or text (needs the generator's tokenizer; encoded with its BOS rule). */
  readonly prompt: readonly number[] | string;
  /** Most tokens to generate; default 128. */
  readonly maxTokens?: number;
  readonly sampling?: SamplingOptions;
  /** Seed of this sequence's sampler; default 0. Same seed, same prompt, same tokens. */
  readonly seed?: number;
  /** Strings that end generation; matched on the decoded text (needs a tokenizer). */
  readonly stop?: readonly string[];
  /** Index of the adapter in the generator's LoraSet; default none. */
  readonly adapter?: number;
  /** End at an end-of-generation token (EOS, EOT, <|im_end|>...); default true with a tokenizer. */
  readonly stopAtEog?: boolean;
}

export type FinishReason = 'length' | 'eog' | 'stop' | 'cancelled';

/** What one step produced for one sequence. */
export interface GenerationEvent {
  readonly id: number;
  /** The sampled token; -1 when the step only consumed prompt (a long prompt's earlier chunks). */
  readonly token: number;
  /** Text that became final with this token (may be '', held back for a possible stop string). */
  readonly text: string;
  readonly done: boolean;
  readonly finishReason?: FinishReason;
}

export interface BatchGeneratorOptions {
  readonly tokenizer?: Tokenizer;
  readonly loras?: LoraSet;
  /** A prompt longer than this is processed over several steps, so one step's memory stays bounded. */
  readonly prefillChunk?: number;
}

interface Sequence {
  readonly id: number;
  readonly cache: KvCache;
  readonly rng: Rng;
  readonly request: GenerationRequest;
  readonly maxTokens: number;
  readonly stopAtEog: boolean;
  readonly decoder: StreamDecoder | undefined;
  readonly stops: StopMatcher | undefined;
  /** Tokens to feed on the next step: the prompt (or its rest) first, then each sampled token. */
  pending: number[];
  generated: number;
}

/**
 * Decoding for many sequences at once, one forward pass per `step()`. Sequences join (`add`) and
 * leave (`cancel`, or by finishing) between steps, each with its own cache, sampler, stop strings and
 * adapter: the level continuous batching is built on. A joining sequence's prompt is prefilled in the
 * same pass as the others' decode tokens.
 */
export class BatchGenerator {
  private readonly sequences = new Map<number, Sequence>();
  private nextId = 1;
  private readonly prefillChunk: number;

  constructor(
    readonly model: LlamaModel,
    private readonly options: BatchGeneratorOptions = {},
  ) {
    this.prefillChunk = options.prefillChunk ?? 512;
    if (!Number.isInteger(this.prefillChunk) || this.prefillChunk < 1) {
      throw new RangeError(`prefillChunk must be a positive integer, got ${this.prefillChunk}`);
    }
  }

  /** Sequences still generating. */
  get size(): number {
    return this.sequences.size;
  }

  /** Queues a sequence; it starts on the next step. Returns its id. */
  add(request: GenerationRequest): number {
    const { tokenizer } = this.options;
    let prompt: readonly number[];
    if (typeof request.prompt === 'string') {
      if (!tokenizer) throw new ModelError('bad-input', 'a text prompt needs a tokenizer');
      prompt = tokenizer.encode(request.prompt);
    } else prompt = request.prompt;
    if (prompt.length === 0) throw new ModelError('bad-input', 'the prompt is empty');
    if (request.stop?.length && !tokenizer)
      throw new ModelError('bad-input', 'stop sequences need a tokenizer');
    const maxTokens = request.maxTokens ?? 128;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new ModelError('bad-input', `maxTokens must be a positive integer, got ${maxTokens}`);
    }
    const { contextLength } = this.model.hparams;
    if (prompt.length + maxTokens > contextLength) {
      throw new ModelError(
        'context-overflow',
        `prompt (${prompt.length}) + maxTokens (${maxTokens}) exceed the context length ${contextLength}`,
      );
    }
    const id = this.nextId++;
    this.sequences.set(id, {
      id,
      cache: new KvCache(this.model.hparams, { maxLength: prompt.length + maxTokens }),
      rng: new Rng(request.seed ?? 0),
      request,
      maxTokens,
      stopAtEog: request.stopAtEog ?? tokenizer !== undefined,
      decoder: tokenizer?.decoder(),
      stops: request.stop?.length ? new StopMatcher(request.stop) : undefined,
      pending: [...prompt],
      generated: 0,
    });
    return id;
  }

  /** Drops a sequence now (its cache is freed); returns false if it was not running. */
  cancel(id: number): boolean {
    return this.sequences.delete(id);
  }

  /** One forward pass over every running sequence; one event per sequence. */
  step(): GenerationEvent[] {
    const running = [...this.sequences.values()];
    if (running.length === 0) return [];
    const steps: SequenceStep[] = [];
    const sampling: boolean[] = [];
    for (const seq of running) {
      const chunk = seq.pending.splice(0, this.prefillChunk);
      const samples = seq.pending.length === 0;
      sampling.push(samples);
      steps.push({
        tokens: chunk,
        cache: seq.cache,
        ...(seq.request.adapter !== undefined ? { adapter: seq.request.adapter } : {}),
        logits: samples ? 'last' : 'none',
      });
    }
    const logits = forward(this.model, steps, this.options.loras ? { loras: this.options.loras } : {});
    return running.map((seq, i) => {
      if (!sampling[i]) return { id: seq.id, token: -1, text: '', done: false };
      return this.advance(seq, logits[i]!);
    });
  }

  private advance(seq: Sequence, logits: Float32Array): GenerationEvent {
    const token = sampleToken(logits, seq.request.sampling ?? {}, seq.rng);
    seq.generated++;
    const finish = (text: string, finishReason: FinishReason): GenerationEvent => {
      this.sequences.delete(seq.id);
      return { id: seq.id, token, text, done: true, finishReason };
    };
    const tail = (): string => {
      const rest = seq.decoder?.flush() ?? '';
      return seq.stops ? seq.stops.push(rest).text + seq.stops.flush() : rest;
    };
    if (seq.stopAtEog && this.options.tokenizer?.isEog(token)) return finish(tail(), 'eog');
    let text = seq.decoder?.push(token) ?? '';
    if (seq.stops) {
      const matched = seq.stops.push(text);
      if (matched.stopped) return finish(matched.text, 'stop');
      text = matched.text;
    }
    if (seq.generated >= seq.maxTokens) return finish(text + tail(), 'length');
    seq.pending.push(token);
    return { id: seq.id, token, text, done: false };
  }
}

export interface GenerationResult {
  readonly tokens: number[];
  readonly text: string;
  readonly finishReason: FinishReason;
}

/** Generates one completion (a BatchGenerator with one sequence); `onText` streams the text. */
export function generate(
  model: LlamaModel,
  request: GenerationRequest,
  options: BatchGeneratorOptions & { onText?: (text: string) => void } = {},
): GenerationResult {
  const generator = new BatchGenerator(model, options);
  generator.add(request);
  const tokens: number[] = [];
  let text = '';
  for (;;) {
    const [event] = generator.step();
    if (!event) throw new Error('generate: the sequence vanished');
    if (event.token >= 0 && !(event.done && event.finishReason === 'eog')) tokens.push(event.token);
    if (event.text) {
      text += event.text;
      options.onText?.(event.text);
    }
    if (event.done) return { tokens, text, finishReason: event.finishReason! };
  }
}
