import { open, type FileHandle } from 'node:fs/promises';
import { FileCursor } from './file-cursor.ts';
import {
  ALIGNMENT_KEY,
  DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  MAX_DIMS,
  MAX_KV_COUNT,
  MAX_TENSOR_COUNT,
  MAX_TENSOR_NAME_BYTES,
  alignUp,
  isPowerOfTwo,
} from './gguf-format.ts';
import { GgufError, type GgufErrorCode } from './gguf-error.ts';
import { GgufValueType, describeValueType, type GgufMetadata } from './gguf-types.ts';
import { readValue, readValueType } from './read-value.ts';
import { decodeTensorData, isDecodableTensorType } from './tensor-codec.ts';
import { ggmlTypeLayout, ggmlTypeName, tensorByteLength } from './tensor-types.ts';

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml's `ne`: shape[0] is the innermost, contiguous dimension (the length of a row). */
  readonly shape: readonly number[];
  /** ggml type id (see GgmlType). */
  readonly type: number;
  readonly typeName: string;
  readonly elementCount: number;
  readonly byteLength: number;
  /** Offset within the data section, as stored in the file. */
  readonly relativeOffset: number;
  /** Absolute offset of the first byte in the file. */
  readonly offset: number;
}

/** Smallest possible encodings, to bound counts by the bytes actually left in the file. */
const MIN_KV_BYTES = 8 + 1 + 4 + 1; // key length, 1-byte key, type, 1-byte value
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 8 + 4 + 8; // name length, 1-byte name, n_dims, ne[0], type, offset
/** Tensor data is read and decoded this much at a time, so decoding never doubles peak memory. */
const READ_CHUNK_BYTES = 4 << 20;
/** fs reads take at most 2 GiB - 1 at once. */
const MAX_READ_BYTES = 1 << 30;

interface ParsedTensor extends GgufTensorInfo {
  /** Where the tensor's info starts, for error messages about it. */
  readonly infoAt: number;
}

/**
 * A GGUF file opened for reading: header, metadata and tensor infos are parsed and validated at
 * open (reading only those bytes); tensor data is read on demand by offset. Keep it open while
 * reading tensors and `close()` it after.
 */
export class GgufFile {
  private readonly byName: ReadonlyMap<string, GgufTensorInfo>;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly version: number,
    readonly metadata: GgufMetadata,
    readonly tensors: readonly GgufTensorInfo[],
    readonly alignment: number,
    /** Absolute offset of the data section. */
    readonly dataOffset: number,
    readonly fileSize: number,
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  static async open(path: string): Promise<GgufFile> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const cursor = new FileCursor(handle, size, path);
      const { version, tensorCount, metadata } = await readHeaderAndMetadata(cursor);
      const alignment = alignmentOf(cursor, metadata);
      const parsed = await readTensorInfos(cursor, tensorCount);
      // llama.cpp only pads up to the data section when there is data to align.
      const dataOffset = tensorCount > 0 ? alignUp(cursor.position, alignment) : cursor.position;
      const tensors = placeTensors(cursor, parsed, alignment, dataOffset);
      return new GgufFile(handle, path, version, metadata, tensors, alignment, dataOffset, size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The tensor's info; throws `unknown-tensor` if the file has no such tensor. */
  tensor(name: string): GgufTensorInfo {
    const info = this.byName.get(name);
    if (!info) throw new GgufError('unknown-tensor', `${this.path}: no tensor named '${name}'`);
    return info;
  }

  hasTensor(name: string): boolean {
    return this.byName.has(name);
  }

  /** The tensor's bytes exactly as stored, whatever its type. */
  async readTensorRaw(name: string): Promise<Uint8Array> {
    const info = this.tensor(name);
    const bytes = new Uint8Array(info.byteLength);
    for (let done = 0; done < bytes.length; done += MAX_READ_BYTES) {
      const piece = bytes.subarray(done, Math.min(bytes.length, done + MAX_READ_BYTES));
      await this.readAt(piece, info.offset + done);
    }
    return bytes;
  }

  /** The tensor as float32, dequantised from F32, F16, BF16 or Q8_0; other types are refused. */
  async readTensor(name: string): Promise<Float32Array> {
    const info = this.tensor(name);
    if (!isDecodableTensorType(info.type)) {
      throw new GgufError(
        'unsupported-tensor-type',
        `${this.path}: tensor '${name}' is ${ggmlTypeName(info.type)}; readTensor decodes F32, F16, BF16 and Q8_0 ` +
          `(readTensorRaw gives the bytes)`,
      );
    }
    const layout = ggmlTypeLayout(info.type)!;
    const out = new Float32Array(info.elementCount);
    // Whole blocks per chunk so that every chunk decodes on its own.
    const blocksPerChunk = Math.max(1, Math.floor(READ_CHUNK_BYTES / layout.typeSize));
    const chunk = new Uint8Array(Math.min(info.byteLength, blocksPerChunk * layout.typeSize));
    for (let done = 0; done < info.byteLength; done += chunk.length) {
      const piece = chunk.subarray(0, Math.min(chunk.length, info.byteLength - done));
      await this.readAt(piece, info.offset + done);
      decodeTensorData(piece, info.type, out, (done / layout.typeSize) * layout.blockSize);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private async readAt(into: Uint8Array, position: number): Promise<void> {
    let filled = 0;
    while (filled < into.length) {
      const { bytesRead } = await this.handle.read(into, filled, into.length - filled, position + filled);
      if (bytesRead === 0) {
        throw new GgufError('truncated', `${this.path}: file shrank since it was opened`, position + filled);
      }
      filled += bytesRead;
    }
  }
}

async function readHeaderAndMetadata(
  cursor: FileCursor,
): Promise<{ version: number; tensorCount: number; metadata: GgufMetadata }> {
  await cursor.need(4, 'the magic "GGUF"');
  const magic = cursor.bytes(4);
  if (!magic.every((byte, i) => byte === GGUF_MAGIC[i])) {
    const shown = [...magic].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?')).join('');
    throw cursor.error('bad-magic', `not a GGUF file: magic is '${shown}', expected 'GGUF'`, 0);
  }
  const version = await cursor.readU32('the version');
  if (version !== 2 && version !== 3) {
    const hint =
      version !== 0 && (version & 0xffff) === 0
        ? ' (byte-swapped: a big-endian file? only little-endian files are read)'
        : version === 1
          ? ' (GGUF v1 used 32-bit counts and is obsolete)'
          : '';
    throw cursor.error(
      'unsupported-version',
      `GGUF version ${version} is not supported${hint}; expected 2 or 3`,
      4,
    );
  }
  // The tensor count is bounded by the bytes left once the metadata before the infos is read.
  const tensorCount = await readCount(cursor, 'tensor count', MAX_TENSOR_COUNT, 0);
  const kvCount = await readCount(cursor, 'metadata key-value count', MAX_KV_COUNT, MIN_KV_BYTES);

  const metadata: GgufMetadata = new Map();
  for (let i = 0; i < kvCount; i++) {
    const keyAt = cursor.position;
    const key = await cursor.readString(`the key of metadata entry #${i}`);
    if (key.length === 0) throw cursor.error('bad-key', `metadata entry #${i} has an empty key`, keyAt);
    if (metadata.has(key)) throw cursor.error('duplicate-key', `metadata key '${key}' appears twice`, keyAt);
    const type = await readValueType(cursor, `metadata key '${key}'`);
    metadata.set(key, await readValue(cursor, type, `metadata key '${key}'`));
  }
  return { version, tensorCount, metadata };
}

async function readCount(
  cursor: FileCursor,
  what: string,
  limit: number,
  minBytesEach: number,
): Promise<number> {
  const at = cursor.position;
  const count = await cursor.readU64(`the ${what}`);
  if (count > BigInt(limit)) {
    throw cursor.error('too-large', `${what} ${count} exceeds the limit of ${limit}`, at);
  }
  const n = Number(count);
  if (n * minBytesEach > cursor.remaining) {
    throw cursor.error(
      'truncated',
      `${what} ${n} needs at least ${n * minBytesEach} bytes but only ${cursor.remaining} are left`,
      at,
    );
  }
  return n;
}

function alignmentOf(cursor: FileCursor, metadata: GgufMetadata): number {
  const value = metadata.get(ALIGNMENT_KEY);
  if (value === undefined) return DEFAULT_ALIGNMENT;
  // llama.cpp refuses any other type for this key, so we do too.
  if (value.type !== GgufValueType.UINT32) {
    throw cursor.error('bad-alignment', `${ALIGNMENT_KEY} is ${describeValueType(value)}, expected UINT32`);
  }
  if (!isPowerOfTwo(value.value)) {
    throw cursor.error('bad-alignment', `${ALIGNMENT_KEY} is ${value.value}, not a power of two`);
  }
  return value.value;
}

async function readTensorInfos(cursor: FileCursor, count: number): Promise<ParsedTensor[]> {
  if (count * MIN_TENSOR_INFO_BYTES > cursor.remaining) {
    throw cursor.error(
      'truncated',
      `${count} tensor infos need at least ${count * MIN_TENSOR_INFO_BYTES} bytes ` +
        `but only ${cursor.remaining} are left`,
    );
  }
  const tensors: ParsedTensor[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) tensors.push(await readTensorInfo(cursor, i, seen));
  return tensors;
}

async function readTensorInfo(cursor: FileCursor, index: number, seen: Set<string>): Promise<ParsedTensor> {
  const infoAt = cursor.position;
  const name = await cursor.readString(`the name of tensor #${index}`);
  function fail(code: GgufErrorCode, reason: string): never {
    throw cursor.error(code, `tensor '${name}' (#${index}) ${reason}`, infoAt);
  }
  if (name.length === 0) fail('bad-tensor', 'has an empty name');
  if (Buffer.byteLength(name) > MAX_TENSOR_NAME_BYTES) {
    fail('bad-tensor', `has a name longer than ${MAX_TENSOR_NAME_BYTES} bytes, which ggml cannot hold`);
  }
  if (seen.has(name)) fail('duplicate-tensor', 'has the name of an earlier tensor');
  seen.add(name);

  const dims = await cursor.readU32(`the dimension count of tensor '${name}'`);
  if (dims < 1 || dims > MAX_DIMS) {
    fail('bad-tensor', `has ${dims} dimensions; ggml supports 1 to ${MAX_DIMS}`);
  }
  await cursor.need(8 * dims, `the shape of tensor '${name}'`);
  const ne = Array.from({ length: dims }, () => cursor.u64());
  if (ne.some((n) => n > BigInt(Number.MAX_SAFE_INTEGER))) fail('bad-tensor', `has an absurd shape [${ne}]`);

  const type = await cursor.readU32(`the type of tensor '${name}'`);
  const layout = ggmlTypeLayout(type);
  if (!layout) {
    fail('unsupported-tensor-type', `has type ${ggmlTypeName(type)}, whose block layout is unknown here`);
  }
  const size = tensorByteLength(layout, ne);
  if (!size.ok) fail('bad-tensor', `of type ${ggmlTypeName(type)}: ${size.reason}`);
  if (size.bytes > BigInt(cursor.size)) {
    fail('out-of-bounds', `needs ${size.bytes} bytes for shape [${ne}], more than the whole file`);
  }
  if (size.elements > BigInt(Number.MAX_SAFE_INTEGER)) fail('bad-tensor', `has too many elements to index`);
  const offset = await cursor.readU64(`the data offset of tensor '${name}'`);
  if (offset > BigInt(cursor.size)) {
    fail('out-of-bounds', `has data offset ${offset}, past the end of the file`);
  }
  return {
    name,
    shape: ne.map(Number),
    type,
    typeName: layout.name,
    elementCount: Number(size.elements),
    byteLength: Number(size.bytes),
    relativeOffset: Number(offset),
    offset: 0,
    infoAt,
  };
}

/** Resolves absolute offsets and checks alignment, bounds and overlap against the file. */
function placeTensors(
  cursor: FileCursor,
  parsed: readonly ParsedTensor[],
  alignment: number,
  dataOffset: number,
): GgufTensorInfo[] {
  const placed = parsed.map(({ infoAt, ...info }) => {
    const fail = (code: 'misaligned' | 'out-of-bounds', reason: string): never => {
      throw cursor.error(code, `tensor '${info.name}' ${reason}`, infoAt);
    };
    if (info.relativeOffset % alignment !== 0) {
      fail(
        'misaligned',
        `has data offset ${info.relativeOffset}, not a multiple of the alignment ${alignment}`,
      );
    }
    const offset = dataOffset + info.relativeOffset;
    const end = offset + info.byteLength;
    if (end > cursor.size) {
      fail(
        'out-of-bounds',
        `has data at bytes [${offset}, ${end}) but the file ends at ${cursor.size} (truncated file or bad offset)`,
      );
    }
    return { ...info, offset, infoAt };
  });
  const byOffset = [...placed].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const before = byOffset[i - 1]!;
    const after = byOffset[i]!;
    if (before.offset + before.byteLength > after.offset) {
      throw cursor.error(
        'overlap',
        `tensors '${before.name}' and '${after.name}' share data bytes`,
        after.infoAt,
      );
    }
  }
  return placed.map(({ infoAt: _infoAt, ...info }) => info);
}
