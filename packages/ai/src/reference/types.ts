export interface LlamaCppAdapter {
  /** A LoRA adapter GGUF (general.type = adapter), as writeLoraAdapter writes it. */
  readonly path: string;
  /** llama.cpp's per-adapter scale: ΔW = scale · alpha / rank · B A (scale · B A when alpha is 0). Default 1. */
  readonly scale?: number;
}

export interface LlamaCppModelOptions {
  readonly modelPath: string;
  /** Applied together, in order, to every evaluation of this model. */
  readonly adapters?: readonly LlamaCppAdapter[];
  /** Tokens the context holds; default 1024, never more than the model's context_length. */
  readonly contextSize?: number;
  /**
   * CPU threads; default 1. Small models are latency-bound: on a 2-core machine two threads made a
   * 28-token evaluation of a 64-wide model take 1.5 s instead of 12 ms (ggml's thread barriers).
   * Raise it for models of hundreds of millions of parameters.
   */
  readonly threads?: number;
  /**
   * Storage type of the KV cache. 'F16' (default) is llama.cpp's own default, so results match what
   * users of llama.cpp get; 'F32' removes that rounding for comparisons against an exact reference.
   */
  readonly kvCacheType?: 'F16' | 'F32';
  /** Flash attention; default false, the plain softmax(QKᵀ)V graph. */
  readonly flashAttention?: boolean;
}
