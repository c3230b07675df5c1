export { causalAttention, causalAttentionBackward, type AttentionShape } from './attention.ts';
export {
  configureKernels,
  kernelSettings,
  startKernelPool,
  stopKernelPool,
  type KernelSettings,
} from './kernel-pool.ts';
export { linear, matmulNN, matmulNT, matmulTN, transpose } from './matmul.ts';
export {
  f32Matrix,
  q8MatrixFromBytes,
  readRow,
  sharedFloats,
  toFloat32,
  type F32Matrix,
  type Matrix,
  type Q8Matrix,
} from './matrix.ts';
export { rmsNorm, rmsNormBackward } from './rms-norm.ts';
export { RopeTable, applyRope, type RopeConfig } from './rope.ts';
export { swiglu, swigluBackward } from './swiglu.ts';
