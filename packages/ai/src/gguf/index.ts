export { GgufError, type GgufErrorCode } from './gguf-error.ts';
export {
  GgufValueType,
  arr,
  bool,
  describeValueType,
  f32,
  f64,
  getArray,
  getBool,
  getF32,
  getF64,
  getI16,
  getI32,
  getI64,
  getI8,
  getString,
  getU16,
  getU32,
  getU64,
  getU8,
  i16,
  i32,
  i64,
  i8,
  metadataFrom,
  str,
  u16,
  u32,
  u64,
  u8,
  valueTypeName,
  type GgufArray,
  type GgufBigIntType,
  type GgufMetadata,
  type GgufNumberType,
  type GgufScalar,
  type GgufValue,
} from './gguf-types.ts';
export { GgmlType, ggmlTypeLayout, ggmlTypeName, type GgmlTypeLayout } from './tensor-types.ts';
export { DEFAULT_ALIGNMENT, GGUF_VERSION } from './gguf-format.ts';
export { bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from './float16.ts';
export { Q8_0_BLOCK_BYTES, Q8_0_BLOCK_SIZE, dequantizeQ8_0, quantizeQ8_0 } from './quant-q8_0.ts';
export { type WritableTensorType } from './tensor-codec.ts';
export { GgufFile, type GgufTensorInfo } from './read-gguf.ts';
export { writeGguf, type GgufTensorToWrite, type GgufWriteInput } from './write-gguf.ts';
export {
  LORA_A_SUFFIX,
  LORA_B_SUFFIX,
  assertLoraFitsBase,
  loraScale,
  readLoraAdapter,
  writeLoraAdapter,
  type LoraAdapter,
  type LoraLayer,
  type LoraReadOptions,
  type LoraWriteOptions,
} from './lora-gguf.ts';
