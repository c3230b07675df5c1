import { describe, expect, it } from 'vitest';
import {
  GgmlType,
  GgufFile,
  KvCache,
  LoraSet,
  ModelError,
  forward,
  loadLlamaModel,
  str,
  u32,
  writeGguf,
  writeLlamaModel,
  type GgufTensorToWrite,
  type GgufValue,
  type ModelErrorCode,
} from '../src/index.ts';
import { useTempDir } from './support/temp-dir.ts';
import { tinyModel } from './support/test-models.ts';

const file = useTempDir('model-errors');
let n = 0;

interface Edit {
  metadata?: Record<string, GgufValue | undefined>;
  drop?: string;
  tensors?: GgufTensorToWrite[];
  replace?: GgufTensorToWrite;
}

/** A valid tiny model file, rewritten with one defect. */
async function broken(edit: Edit): Promise<string> {
  const good = file(`good${n}.gguf`);
  await writeLlamaModel(good, tinyModel(1));
  const src = await GgufFile.open(good);
  const metadata = new Map(src.metadata);
  for (const [k, v] of Object.entries(edit.metadata ?? {})) {
    if (v === undefined) metadata.delete(k);
    else metadata.set(k, v);
  }
  const tensors: GgufTensorToWrite[] = [];
  for (const t of src.tensors) {
    if (t.name === edit.drop) continue;
    if (t.name === edit.replace?.name) tensors.push(edit.replace);
    else tensors.push({ name: t.name, shape: t.shape, type: t.type, raw: await src.readTensorRaw(t.name) });
  }
  await src.close();
  const path = file(`bad${n++}.gguf`);
  await writeGguf(path, { metadata, tensors: [...tensors, ...(edit.tensors ?? [])] });
  return path;
}

async function expectCode(path: Promise<string>, code: ModelErrorCode, message: RegExp): Promise<void> {
  const error = await loadLlamaModel(await path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelError);
  expect((error as ModelError).code).toBe(code);
  expect((error as ModelError).message).toMatch(message);
}

describe('loading refuses what it cannot run, before reading weights', () => {
  it('another architecture', () =>
    expectCode(
      broken({ metadata: { 'general.architecture': str('gpt2') } }),
      'unsupported-architecture',
      /'gpt2'/,
    ));

  it('a missing tensor', () =>
    expectCode(broken({ drop: 'blk.1.ffn_up.weight' }), 'missing-tensor', /blk\.1\.ffn_up/));

  it('a tensor of the wrong shape', () =>
    expectCode(
      broken({
        replace: {
          name: 'blk.0.attn_k.weight',
          shape: [32, 8],
          type: GgmlType.F32,
          data: new Float32Array(256),
        },
      }),
      'bad-shape',
      /attn_k.*\[32,8\].*\[32,16\]/,
    ));

  it('an unsupported quantisation', () =>
    expectCode(
      broken({
        replace: {
          name: 'blk.0.ffn_up.weight',
          shape: [32, 48],
          type: GgmlType.Q4_0,
          raw: new Uint8Array(48 * 18),
        },
      }),
      'unsupported-tensor-type',
      /Q4_0/,
    ));

  it('a missing hyperparameter', () =>
    expectCode(
      broken({ metadata: { 'llama.block_count': undefined } }),
      'missing-key',
      /llama\.block_count/,
    ));

  it('inconsistent hyperparameters', async () => {
    await expectCode(
      broken({ metadata: { 'llama.attention.head_count_kv': u32(3) } }),
      'bad-hparams',
      /multiple/,
    );
    await expectCode(broken({ metadata: { 'llama.rope.dimension_count': u32(4) } }), 'bad-hparams', /rope/);
    await expectCode(broken({ metadata: { 'llama.rope.scaling.type': str('yarn') } }), 'bad-hparams', /yarn/);
  });

  it('tensors a llama model does not have (biases)', () =>
    expectCode(
      broken({
        tensors: [{ name: 'blk.0.attn_q.bias', shape: [32], type: GgmlType.F32, data: new Float32Array(32) }],
      }),
      'unexpected-tensor',
      /attn_q\.bias/,
    ));

  it('a blocks count that does not match the tensors', () =>
    expectCode(broken({ metadata: { 'llama.block_count': u32(3) } }), 'missing-tensor', /blk\.2\./));
});

describe('running refuses bad input', () => {
  const model = tinyModel(2);
  const fails = (f: () => unknown, code: ModelErrorCode) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(ModelError);
      expect((e as ModelError).code).toBe(code);
      return;
    }
    throw new Error('expected a ModelError');
  };

  it('tokens outside the vocabulary, unknown adapters, empty steps, context overflow', () => {
    const cache = () => new KvCache(model.hparams);
    fails(() => forward(model, [{ tokens: [64], cache: cache() }]), 'bad-input');
    fails(() => forward(model, [{ tokens: [1.5], cache: cache() }]), 'bad-input');
    fails(() => forward(model, [{ tokens: [], cache: cache() }]), 'bad-input');
    fails(() => forward(model, [{ tokens: [1], cache: cache(), adapter: 0 }]), 'bad-input');
    fails(
      () =>
        forward(model, [{ tokens: [1], cache: cache(), adapter: 1 }], { loras: LoraSet.attach(model, []) }),
      'bad-input',
    );
    const small = new KvCache(model.hparams, { maxLength: 4 });
    forward(model, [{ tokens: [1, 2, 3], cache: small }]);
    fails(() => forward(model, [{ tokens: [1, 2], cache: small }]), 'context-overflow');
  });
});
