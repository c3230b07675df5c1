/**
 * Chat prompts: a GGUF's `tokenizer.chat_template` rendered with @huggingface/jinja, or one of the built-in
 * formats when there is no template, and the built-in that a template corresponds to when our Jinja engine
 * fails on it (as llama.cpp falls back to `llm_chat_detect_template`).
 *
 * Templates usually write `bos_token` themselves; {@link encodeChatPrompt} then keeps the tokenizer from
 * adding a second BOS.
 */
import { Template } from '@huggingface/jinja';
import {
  builtinChatTemplate,
  renderBuiltinChatTemplate,
  type BuiltinChatTemplate,
  type ChatMessage,
} from './chat-builtins.ts';
import { detectChatTemplate } from './chat-detect.ts';
import type { Tokenizer } from './types.ts';

export interface ChatTemplateOptions {
  /** A Jinja template (e.g. `tokenizer.chat_template`) or the name of a built-in format. */
  template?: string;
  /** The built-in used when there is no template; default 'chatml'. */
  fallback?: BuiltinChatTemplate | 'mistral';
  /** Open the assistant's turn at the end; default true. */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
  /** Further variables for the Jinja template (e.g. `tools`). */
  variables?: Record<string, unknown>;
}

export interface RenderedChat {
  text: string;
  /** 'jinja', or the built-in that produced the text. */
  format: 'jinja' | BuiltinChatTemplate;
  /** Why the Jinja template was not used, when it failed and a built-in took over. */
  jinjaError?: unknown;
}

// Parsing dominates rendering and a runtime renders the same template for every request.
const compiled = new Map<string, Template>();
const COMPILED_LIMIT = 32;

function compile(source: string): Template {
  let template = compiled.get(source);
  if (!template) {
    template = new Template(source);
    if (compiled.size >= COMPILED_LIMIT) compiled.clear();
    compiled.set(source, template);
  }
  return template;
}

/** Renders a Jinja chat template as Hugging Face transformers does; throws what the engine throws. */
export function renderJinjaChatTemplate(
  template: string,
  messages: readonly ChatMessage[],
  options: Omit<ChatTemplateOptions, 'template' | 'fallback'> = {},
): string {
  return compile(template).render({
    ...options.variables,
    messages: messages.map((m) => ({ ...m })),
    add_generation_prompt: options.addGenerationPrompt ?? true,
    bos_token: options.bosToken ?? '',
    eos_token: options.eosToken ?? '',
  });
}

/** Renders the messages; see {@link ChatTemplateOptions} for which format is used. */
export function renderChat(
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions = {},
): RenderedChat {
  const add = options.addGenerationPrompt ?? true;
  const source = options.template;
  if (!source) {
    const format = builtinChatTemplate(options.fallback ?? 'chatml');
    if (!format) throw new Error(`chat template: unknown built-in ${JSON.stringify(options.fallback)}`);
    return { text: renderBuiltinChatTemplate(format, messages, add), format };
  }
  const named = builtinChatTemplate(source);
  if (named) return { text: renderBuiltinChatTemplate(named, messages, add), format: named };
  try {
    return { text: renderJinjaChatTemplate(source, messages, options), format: 'jinja' };
  } catch (jinjaError) {
    const detected = detectChatTemplate(source);
    if (!detected) {
      throw new Error('chat template: the Jinja template failed and matches no built-in format', {
        cause: jinjaError,
      });
    }
    return { text: renderBuiltinChatTemplate(detected, messages, add), format: detected, jinjaError };
  }
}

/** The prompt text for the messages. */
export function applyChatTemplate(
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions = {},
): string {
  return renderChat(messages, options).text;
}

/** The prompt text for a tokenizer's model: its own template, BOS and EOS texts. */
export function applyTokenizerChatTemplate(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  options: Omit<ChatTemplateOptions, 'template' | 'bosToken' | 'eosToken'> = {},
): string {
  const text = (id: number | undefined): string | undefined =>
    id === undefined ? undefined : tokenizer.tokenText(id);
  return renderChat(messages, {
    ...options,
    template: tokenizer.chatTemplate,
    bosToken: text(tokenizer.bosId),
    eosToken: text(tokenizer.eosId),
  }).text;
}

/**
 * Tokenizes a rendered prompt: control tokens in it are matched, and BOS is added only if the model adds
 * one and the text does not already start with it.
 */
export function encodeChatPrompt(tokenizer: Tokenizer, prompt: string): number[] {
  const bos = tokenizer.bosId === undefined ? undefined : tokenizer.tokenText(tokenizer.bosId);
  const addBos = tokenizer.addBos && !(bos !== undefined && prompt.startsWith(bos));
  return tokenizer.encode(prompt, { special: true, addBos });
}

export type { BuiltinChatTemplate, ChatMessage };
