/**
 * The learning rate of step `step` (0-based) of `steps`: linear warmup from peak/warmup to the peak
 * over the first `warmupSteps` steps, then half a cosine from the peak down to `min` at the last step.
 */
export function learningRateAt(
  step: number,
  steps: number,
  schedule: { peakLearningRate: number; minLearningRate: number; warmupSteps: number },
): number {
  const { peakLearningRate: peak, minLearningRate: min, warmupSteps: warmup } = schedule;
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const decaySteps = Math.max(1, steps - 1 - warmup);
  const progress = Math.min(1, (step - warmup) / decaySteps);
  return min + 0.5 * (peak - min) * (1 + Math.cos(Math.PI * progress));
}
