import type { FileHandle } from 'node:fs/promises';
import { writeFileAtomically, writeFully } from './atomic-file.ts';
import { ByteWriter } from './byte-writer.ts';
import {
  ALIGNMENT_KEY,
  DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  MAX_DIMS,
  MAX_TENSOR_NAME_BYTES,
  alignUp,
  isPowerOfTwo,
} from './gguf-format.ts';
import { GgufError } from './gguf-error.ts';
import {
  GgufValueType,
  MAX_STRING_BYTES,
  assertValidValue,
  describeValueType,
  metadataFrom,
  valueTypeName,
  type GgufArray,
  type GgufMetadata,
  type GgufValue,
} from './gguf-types.ts';
import { encodeTensorData, isWritableTensorType } from './tensor-codec.ts';
import { ggmlTypeLayout, ggmlTypeName, tensorByteLength, type GgmlTypeLayout } from './tensor-types.ts';

export interface GgufTensorToWrite {
  readonly name: string;
  /** ggml's `ne`: shape[0] is the row length (innermost, contiguous), 1 to 4 dimensions. */
  readonly shape: readonly number[];
  /** ggml type id (GgmlType): F32, F16 or Q8_0 for `data`; any type with a known layout for `raw`. */
  readonly type: number;
  /**
   * Row-major float32 values, converted to `type` on the way to disk. A function is called only
   * when this tensor's turn comes, so a large model never needs all its tensors in memory at once.
   */
  readonly data?: Float32Array | (() => Float32Array | Promise<Float32Array>);
  /** Bytes already encoded as `type`, written unchanged (copying a tensor between files). */
  readonly raw?: Uint8Array;
}

export interface GgufWriteInput {
  /** `general.alignment` (UINT32, a power of two) here sets the data alignment; 32 otherwise. */
  readonly metadata?: ReadonlyMap<string, GgufValue> | Readonly<Record<string, GgufValue>>;
  readonly tensors?: readonly GgufTensorToWrite[];
}

interface TensorPlan {
  readonly tensor: GgufTensorToWrite;
  readonly layout: GgmlTypeLayout;
  readonly elementCount: number;
  readonly byteLength: number;
  /** Offset within the data section. */
  readonly offset: number;
}

/** Values are converted and written this many elements at a time. */
const CHUNK_ELEMENTS = 1 << 20;
const utf8 = new TextEncoder();

/**
 * Writes a GGUF v3 file atomically (see writeFileAtomically). Everything is validated before the
 * first byte is written, so invalid input never leaves a partial file; tensor data is streamed.
 * Layout follows llama.cpp's writer: tensors in the given order, each at the previous one's end
 * rounded up to the alignment, zero padding between them and after the last.
 */
export async function writeGguf(path: string, input: GgufWriteInput): Promise<void> {
  const metadata = metadataFrom(input.metadata ?? {});
  const alignment = checkMetadata(metadata);
  const plans = planTensors(input.tensors ?? [], alignment);
  const header = encodeHeader(metadata, plans, alignment);

  await writeFileAtomically(path, async (handle) => {
    await writeFully(handle, header, 0);
    for (const plan of plans) await writeTensor(handle, plan, header.length, alignment);
  });
}

function checkMetadata(metadata: GgufMetadata): number {
  for (const [key, value] of metadata) {
    if (typeof key !== 'string' || key.length === 0) {
      throw new GgufError('bad-key', 'metadata keys must be non-empty');
    }
    assertValidValue({ type: GgufValueType.STRING, value: key }, `metadata key '${key}'`);
    assertValidValue(value, `metadata key '${key}'`);
  }
  const value = metadata.get(ALIGNMENT_KEY);
  if (value === undefined) return DEFAULT_ALIGNMENT;
  if (value.type !== GgufValueType.UINT32) {
    throw new GgufError(
      'bad-alignment',
      `${ALIGNMENT_KEY} is ${describeValueType(value)}; llama.cpp requires UINT32`,
    );
  }
  if (!isPowerOfTwo(value.value)) {
    throw new GgufError('bad-alignment', `${ALIGNMENT_KEY} ${value.value} is not a power of two`);
  }
  return value.value;
}

function planTensors(tensors: readonly GgufTensorToWrite[], alignment: number): TensorPlan[] {
  const names = new Set<string>();
  let offset = 0;
  return tensors.map((tensor) => {
    const fail = (reason: string, code: 'bad-tensor' | 'unsupported-tensor-type' = 'bad-tensor'): never => {
      throw new GgufError(code, `tensor '${tensor.name}': ${reason}`);
    };
    const { name, shape, type } = tensor;
    if (typeof name !== 'string' || name.length === 0) fail('tensor names must be non-empty');
    if (utf8.encode(name).length > MAX_TENSOR_NAME_BYTES) {
      fail(`name is longer than ${MAX_TENSOR_NAME_BYTES} bytes`);
    }
    if (names.has(name)) throw new GgufError('duplicate-tensor', `tensor name '${name}' is used twice`);
    names.add(name);

    if (shape.length < 1 || shape.length > MAX_DIMS) {
      fail(`has ${shape.length} dimensions; 1 to ${MAX_DIMS} allowed`);
    }
    if (!shape.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      fail(`shape [${shape}] is not non-negative integers`);
    }
    const layout =
      ggmlTypeLayout(type) ??
      fail(`type ${ggmlTypeName(type)} has no known layout`, 'unsupported-tensor-type');
    const size = tensorByteLength(layout, shape.map(BigInt));
    if (!size.ok) return fail(size.reason);
    const elementCount = Number(size.elements);
    const byteLength = Number(size.bytes);

    if ((tensor.data === undefined) === (tensor.raw === undefined)) {
      fail('give exactly one of `data` and `raw`');
    }
    if (tensor.data !== undefined && !isWritableTensorType(type)) {
      fail(
        `cannot convert float32 data to ${ggmlTypeName(type)}; F32, F16 and Q8_0 are supported`,
        'unsupported-tensor-type',
      );
    }
    if (tensor.data instanceof Float32Array) checkLength(tensor, tensor.data, elementCount);
    if (tensor.raw !== undefined && tensor.raw.length !== byteLength) {
      fail(`raw data has ${tensor.raw.length} bytes; shape [${shape}] of ${layout.name} needs ${byteLength}`);
    }
    const plan = { tensor, layout, elementCount, byteLength, offset };
    offset = alignUp(offset + byteLength, alignment);
    return plan;
  });
}

function checkLength(
  tensor: GgufTensorToWrite,
  data: unknown,
  elementCount: number,
): asserts data is Float32Array {
  if (!(data instanceof Float32Array)) {
    throw new GgufError('bad-tensor', `tensor '${tensor.name}': data is not a Float32Array`);
  }
  if (data.length !== elementCount) {
    throw new GgufError(
      'bad-tensor',
      `tensor '${tensor.name}': ${data.length} values given for shape [${tensor.shape}] (${elementCount} elements)`,
    );
  }
}

function encodeHeader(metadata: GgufMetadata, plans: readonly TensorPlan[], alignment: number): Uint8Array {
  const w = new ByteWriter();
  w.bytes(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(plans.length);
  w.u64(metadata.size);
  for (const [key, value] of metadata) {
    writeString(w, key);
    w.u32(value.type);
    writeValueBody(w, value);
  }
  for (const { tensor, offset } of plans) {
    writeString(w, tensor.name);
    w.u32(tensor.shape.length);
    for (const n of tensor.shape) w.u64(n);
    w.u32(tensor.type);
    w.u64(offset);
  }
  w.pad(alignment);
  return w.result();
}

function writeString(w: ByteWriter, value: string): void {
  const bytes = utf8.encode(value);
  if (bytes.length > MAX_STRING_BYTES) {
    throw new GgufError('bad-value', `a ${bytes.length}-byte string exceeds the limit`);
  }
  w.u64(bytes.length);
  w.bytes(bytes);
}

/** The value without its type tag (already validated, so the casts below hold). */
function writeValueBody(w: ByteWriter, value: GgufValue): void {
  if (value.type === GgufValueType.ARRAY) {
    writeArrayBody(w, value);
    return;
  }
  writeElement(w, value.type, value.value);
}

function writeArrayBody(w: ByteWriter, array: GgufArray): void {
  w.u32(array.elementType);
  w.u64(array.value.length);
  for (const element of array.value) {
    if (array.elementType === GgufValueType.ARRAY) writeArrayBody(w, element as GgufArray);
    else writeElement(w, array.elementType, element as number | bigint | boolean | string);
  }
}

function writeElement(w: ByteWriter, type: GgufValueType, v: number | bigint | boolean | string): void {
  switch (type) {
    case GgufValueType.UINT8:
      return w.u8(v as number);
    case GgufValueType.INT8:
      return w.i8(v as number);
    case GgufValueType.UINT16:
      return w.u16(v as number);
    case GgufValueType.INT16:
      return w.i16(v as number);
    case GgufValueType.UINT32:
      return w.u32(v as number);
    case GgufValueType.INT32:
      return w.i32(v as number);
    case GgufValueType.FLOAT32:
      return w.f32(v as number);
    case GgufValueType.FLOAT64:
      return w.f64(v as number);
    case GgufValueType.UINT64:
      return w.u64(v as bigint);
    case GgufValueType.INT64:
      return w.i64(v as bigint);
    case GgufValueType.BOOL:
      return w.u8(v ? 1 : 0);
    case GgufValueType.STRING:
      return writeString(w, v as string);
    default:
      throw new GgufError('bad-value-type', `cannot write a ${valueTypeName(type)} element`);
  }
}

async function writeTensor(
  handle: FileHandle,
  plan: TensorPlan,
  dataStart: number,
  alignment: number,
): Promise<void> {
  const { tensor, layout, elementCount, byteLength } = plan;
  let position = dataStart + plan.offset;
  if (tensor.raw !== undefined) {
    await writeFully(handle, tensor.raw, position);
    position += byteLength;
  } else {
    const data = typeof tensor.data === 'function' ? await tensor.data() : tensor.data;
    checkLength(tensor, data, elementCount);
    const type = tensor.type as Parameters<typeof encodeTensorData>[1];
    const step = Math.max(layout.blockSize, Math.floor(CHUNK_ELEMENTS / layout.blockSize) * layout.blockSize);
    for (let start = 0; start < elementCount; start += step) {
      const chunk = data.subarray(start, Math.min(elementCount, start + step));
      const bytes = encodeTensorData(chunk, type, `tensor '${tensor.name}'`, start);
      await writeFully(handle, bytes, position);
      position += bytes.length;
    }
  }
  const padding = alignUp(position, alignment) - position;
  if (padding > 0) await writeFully(handle, new Uint8Array(padding), position);
}
