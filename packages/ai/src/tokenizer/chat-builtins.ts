/**
 * Built-in chat formats, for models whose GGUF has no `tokenizer.chat_template` or whose template our Jinja
 * engine cannot render. Each one produces exactly what llama.cpp's `llm_chat_apply_template` does for the
 * same name, BOS excluded (the tokenizer adds it).
 */

export interface ChatMessage {
  role: string;
  content: string;
}

export const BUILTIN_CHAT_TEMPLATES = [
  'chatml',
  'llama2',
  'llama2-sys',
  'llama2-sys-bos',
  'llama2-sys-strip',
  'llama3',
  'mistral-v1',
  'mistral-v3',
  'mistral-v3-tekken',
  'mistral-v7',
  'mistral-v7-tekken',
  'phi3',
  'phi4',
  'falcon3',
  'zephyr',
  'gemma',
  'vicuna',
  'vicuna-orca',
] as const;
export type BuiltinChatTemplate = (typeof BUILTIN_CHAT_TEMPLATES)[number];

/** Shorter names accepted wherever a built-in name is: 'mistral' is the v3 format of Mistral 7B v0.3. */
export const CHAT_TEMPLATE_ALIASES: Readonly<Record<string, BuiltinChatTemplate>> = { mistral: 'mistral-v3' };

/** The built-in a name (or alias) stands for, if any. */
export function builtinChatTemplate(name: string): BuiltinChatTemplate | undefined {
  if ((BUILTIN_CHAT_TEMPLATES as readonly string[]).includes(name)) return name as BuiltinChatTemplate;
  return Object.hasOwn(CHAT_TEMPLATE_ALIASES, name) ? CHAT_TEMPLATE_ALIASES[name] : undefined;
}

/** C's isspace set, which llama.cpp trims with (String.prototype.trim would also eat Unicode spaces). */
function trim(text: string): string {
  return text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
}

type Render = (messages: readonly ChatMessage[], addGenerationPrompt: boolean) => string;

function tagged(open: (role: string) => string, close: string, generation: string, strip = false): Render {
  return (messages, add) =>
    messages.map((m) => open(m.role) + (strip ? trim(m.content) : m.content) + close).join('') +
    (add ? generation : '');
}

function llama2(system: boolean, bosInHistory: boolean, strip: boolean): Render {
  return (messages) => {
    let out = '[INST] ';
    let insideTurn = true; // the first [INST] is already open
    for (const m of messages) {
      const content = strip ? trim(m.content) : m.content;
      if (!insideTurn) {
        insideTurn = true;
        out += bosInHistory ? '<s>[INST] ' : '[INST] ';
      }
      if (m.role === 'system') out += system ? `<<SYS>>\n${content}\n<</SYS>>\n\n` : `${content}\n`;
      else if (m.role === 'user') out += `${content} [/INST]`;
      else {
        out += `${content}</s>`;
        insideTurn = false;
      }
    }
    return out;
  };
}

function mistral(version: 'v1' | 'v3' | 'v3-tekken'): Render {
  const leading = version === 'v1' ? ' ' : '';
  const trailing = version === 'v3-tekken' ? '' : ' ';
  return (messages) => {
    let out = '';
    let insideTurn = false;
    for (const m of messages) {
      if (!insideTurn) {
        out += `${leading}[INST]${trailing}`;
        insideTurn = true;
      }
      if (m.role === 'system') out += `${m.content}\n\n`;
      else if (m.role === 'user') out += `${m.content}${leading}[/INST]`;
      else {
        out += `${trailing}${version === 'v3' ? trim(m.content) : m.content}</s>`;
        insideTurn = false;
      }
    }
    return out;
  };
}

function mistralV7(space: string): Render {
  return (messages) =>
    messages
      .map((m) =>
        m.role === 'system'
          ? `[SYSTEM_PROMPT]${space}${m.content}[/SYSTEM_PROMPT]`
          : m.role === 'user'
            ? `[INST]${space}${m.content}[/INST]`
            : `${space}${m.content}</s>`,
      )
      .join('');
}

/** Gemma has no system role: the system text goes in front of the next user turn; "assistant" is "model". */
const gemma: Render = (messages, add) => {
  let out = '';
  let system = '';
  for (const m of messages) {
    if (m.role === 'system') {
      system += trim(m.content);
      continue;
    }
    const role = m.role === 'assistant' ? 'model' : m.role;
    out += `<start_of_turn>${role}\n`;
    if (system && role !== 'model') {
      out += `${system}\n\n`;
      system = '';
    }
    out += `${trim(m.content)}<end_of_turn>\n`;
  }
  return out + (add ? '<start_of_turn>model\n' : '');
};

function vicuna(orca: boolean): Render {
  return (messages, add) =>
    messages
      .map((m) => {
        if (m.role === 'system') return orca ? `SYSTEM: ${m.content}\n` : `${m.content}\n\n`;
        if (m.role === 'user') return `USER: ${m.content}\n`;
        return m.role === 'assistant' ? `ASSISTANT: ${m.content}</s>\n` : '';
      })
      .join('') + (add ? 'ASSISTANT:' : '');
}

const RENDERERS: Record<BuiltinChatTemplate, Render> = {
  chatml: tagged((role) => `<|im_start|>${role}\n`, '<|im_end|>\n', '<|im_start|>assistant\n'),
  llama2: llama2(false, false, false),
  'llama2-sys': llama2(true, false, false),
  'llama2-sys-bos': llama2(true, true, false),
  'llama2-sys-strip': llama2(true, false, true),
  llama3: tagged(
    (role) => `<|start_header_id|>${role}<|end_header_id|>\n\n`,
    '<|eot_id|>',
    '<|start_header_id|>assistant<|end_header_id|>\n\n',
    true,
  ),
  'mistral-v1': mistral('v1'),
  'mistral-v3': mistral('v3'),
  'mistral-v3-tekken': mistral('v3-tekken'),
  'mistral-v7': mistralV7(' '),
  'mistral-v7-tekken': mistralV7(''),
  phi3: tagged((role) => `<|${role}|>\n`, '<|end|>\n', '<|assistant|>\n'),
  phi4: tagged((role) => `<|im_start|>${role}<|im_sep|>`, '<|im_end|>', '<|im_start|>assistant<|im_sep|>'),
  falcon3: tagged((role) => `<|${role}|>\n`, '\n', '<|assistant|>\n'),
  zephyr: tagged((role) => `<|${role}|>\n`, '<|endoftext|>\n', '<|assistant|>\n'),
  gemma,
  vicuna: vicuna(false),
  'vicuna-orca': vicuna(true),
};

/** Renders messages in a built-in format; `addGenerationPrompt` opens the assistant's turn where it has one. */
export function renderBuiltinChatTemplate(
  name: BuiltinChatTemplate,
  messages: readonly ChatMessage[],
  addGenerationPrompt = true,
): string {
  return RENDERERS[name](messages, addGenerationPrompt);
}
