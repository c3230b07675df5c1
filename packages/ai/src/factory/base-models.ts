import { createReadStream } from 'node:fs';
import { keccakStream } from '@openledger/data';
import type { Hex } from 'viem';
import { GgufFile } from '../gguf/index.ts';
import { readLlamaHparams } from '../model/hparams.ts';
import { FactoryError } from './factory-error.ts';
import type { BaseModel } from './job-runner.ts';

/**
 * Reads what the factory needs to know of a base model without loading its weights: the
 * hyper-parameters (so a bad file is refused at start, not mid-job), the parameter count, the
 * tokenizer's presence, and the keccak256 of the file, which ModelRegistry records as its hash.
 */
export async function describeBaseModel(name: string, path: string): Promise<BaseModel> {
  let file: GgufFile;
  try {
    file = await GgufFile.open(path);
  } catch (error) {
    throw new FactoryError(
      'bad-base-model',
      `base model ${name}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    const embd = file.tensors.find((t) => t.name === 'token_embd.weight');
    if (!embd) throw new FactoryError('bad-base-model', `base model ${name} has no token_embd.weight`);
    const hparams = readLlamaHparams(file.metadata, embd.shape[1] ?? 0);
    if (!file.metadata.has('tokenizer.ggml.model')) {
      throw new FactoryError('bad-base-model', `base model ${name} carries no tokenizer (tokenizer.ggml.*)`);
    }
    const parameters = file.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    return { name, path, hash: await fileHash(path), hparams, parameters };
  } catch (error) {
    if (error instanceof FactoryError) throw error;
    throw new FactoryError(
      'bad-base-model',
      `base model ${name}: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    await file.close();
  }
}

async function fileHash(path: string): Promise<Hex> {
  const hash = keccakStream();
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest();
}
