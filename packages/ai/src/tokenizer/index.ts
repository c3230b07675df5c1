export { parseByteToken } from './base-tokenizer.ts';
export { BYTE_TO_CHAR, byteLevelToBytes, bytesToByteLevel } from './byte-unicode.ts';
export { ByteLevelBpeTokenizer } from './byte-level-bpe.ts';
export {
  BUILTIN_CHAT_TEMPLATES,
  CHAT_TEMPLATE_ALIASES,
  builtinChatTemplate,
  renderBuiltinChatTemplate,
} from './chat-builtins.ts';
export { detectChatTemplate } from './chat-detect.ts';
export {
  applyChatTemplate,
  applyTokenizerChatTemplate,
  encodeChatPrompt,
  renderChat,
  renderJinjaChatTemplate,
  type BuiltinChatTemplate,
  type ChatMessage,
  type ChatTemplateOptions,
  type RenderedChat,
} from './chat-template.ts';
export { createTokenizer } from './create-tokenizer.ts';
export { getPreTokenizer, SUPPORTED_PRE_TOKENIZERS, type PreTokenizer } from './pre-tokenizer.ts';
export { SentencePieceBpeTokenizer } from './sentencepiece-bpe.ts';
export { trainByteLevelBpe, type TrainBpeOptions } from './train-bpe.ts';
export {
  TokenType,
  type DecodeOptions,
  type EncodeOptions,
  type StreamDecoder,
  type Tokenizer,
  type TokenizerModel,
  type TokenizerSpec,
} from './types.ts';
