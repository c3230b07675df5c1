export * from './gguf/index.ts';
export * from './tokenizer/index.ts';
export * from './tensor/index.ts';
export * from './model/index.ts';
export * from './lora/index.ts';
export * from './generation/index.ts';
export * from './training/index.ts';
export * from './factory/index.ts';
