import type { Address, Hex } from 'viem';
import type { HyperParameters } from './training-spec.ts';

/** What a fine-tuned model is, where it came from and how well it does: published beside the adapter. */
export interface ModelCard {
  readonly name: string;
  readonly owner: Address;
  readonly base: { readonly name: string; readonly hash: Hex; readonly parameters: number };
  readonly adapter: { readonly hash: Hex; readonly bytes: number; readonly parameters: number };
  readonly data: {
    readonly datanetId: string;
    readonly versions: readonly { readonly version: number; readonly root: Hex; readonly rows: number }[];
    readonly trainRows: number;
    readonly evalRows: number;
    /** Rows left out because their contribution was slashed after publication. */
    readonly slashedRows: number;
    readonly contributors: number;
  };
  readonly hyperParameters: HyperParameters;
  readonly trainingConfigHash: Hex;
  readonly training: {
    readonly steps: number;
    readonly tokens: number;
    readonly seconds: number;
    readonly tokensPerSecond: number;
  };
  readonly evaluation: {
    readonly lossBefore: number;
    readonly lossAfter: number;
    readonly perplexityBefore: number;
    readonly perplexityAfter: number;
  };
  readonly createdAt: string;
}

/** The card as Markdown, for people (the JSON form is for programs and is what gets hashed). */
export function modelCardMarkdown(card: ModelCard): string {
  const h = card.hyperParameters;
  const e = card.evaluation;
  return [
    `# ${card.name}`,
    '',
    `A LoRA adapter over **${card.base.name}** (\`${card.base.hash}\`), fine-tuned on Datanet ${card.data.datanetId}.`,
    '',
    '## Data',
    '',
    '| version | root | rows |',
    '| --- | --- | --- |',
    ...card.data.versions.map((v) => `| ${v.version} | \`${v.root}\` | ${v.rows} |`),
    '',
    `${card.data.trainRows} training rows and ${card.data.evalRows} held-out rows from ${card.data.contributors} contributors` +
      (card.data.slashedRows > 0
        ? `; ${card.data.slashedRows} rows of slashed contributions left out.`
        : '.'),
    '',
    '## Training',
    '',
    `rank ${h.rank}, alpha ${h.alpha}, targets ${h.targets.join(', ')}, ${h.epochs} epochs, learning rate ${h.learningRate}, ` +
      `batch ${h.batchSize}, sequence length ${h.maxSeqLen}, weight decay ${h.weightDecay}, clip norm ${h.clipNorm}, seed ${h.seed}.`,
    '',
    `${card.training.steps} steps over ${card.training.tokens} tokens in ${card.training.seconds.toFixed(1)} s ` +
      `(${Math.round(card.training.tokensPerSecond)} tokens/s). Training config hash \`${card.trainingConfigHash}\`.`,
    '',
    '## Evaluation (held-out rows)',
    '',
    '| | loss | perplexity |',
    '| --- | --- | --- |',
    `| base model | ${e.lossBefore.toFixed(4)} | ${e.perplexityBefore.toFixed(2)} |`,
    `| with adapter | ${e.lossAfter.toFixed(4)} | ${e.perplexityAfter.toFixed(2)} |`,
    '',
    `Adapter \`${card.adapter.hash}\`: ${card.adapter.parameters} parameters, ${card.adapter.bytes} bytes of GGUF.`,
    '',
  ].join('\n');
}
