import { describe, expect, it } from 'vitest';
import {
  BUILTIN_CHAT_TEMPLATES,
  renderBuiltinChatTemplate,
  type BuiltinChatTemplate,
  type ChatMessage,
} from '../src/tokenizer/chat-builtins.ts';
import { detectChatTemplate } from '../src/tokenizer/chat-detect.ts';
import {
  applyChatTemplate,
  applyTokenizerChatTemplate,
  encodeChatPrompt,
  renderChat,
  renderJinjaChatTemplate,
} from '../src/tokenizer/chat-template.ts';
import { createTokenizer } from '../src/tokenizer/create-tokenizer.ts';
import { trainByteLevelBpe } from '../src/tokenizer/train-bpe.ts';

const CHAT: ChatMessage[] = [
  { role: 'system', content: 'You are helpful.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'How are you?' },
];
const NO_SYSTEM = CHAT.slice(1);

// Chat templates as published with the models (tokenizer_config.json), lightly abridged where noted.
const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const LLAMA3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
const MISTRAL_V01 =
  "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
const LLAMA2 =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
const GEMMA =
  "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";
const PHI3 =
  "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}";
const ZEPHYR =
  "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";
// Abridged: the role checks and tool handling of Mistral's own templates, keeping their markers.
const MISTRAL_V3 =
  "{%- if tools is not none %}{{- '[AVAILABLE_TOOLS] ' + tools|tojson + '[/AVAILABLE_TOOLS]' }}{%- endif %}{%- for message in messages %}{%- if message['role'] == 'user' %}{{- '[INST] ' + message['content'] + '[/INST]' }}{%- else %}{{- ' ' + message['content']|trim + eos_token }}{%- endif %}{%- endfor %}";
const MISTRAL_V7 =
  "{{- bos_token }}{%- for message in messages %}{%- if message['role'] == 'system' %}{{- '[SYSTEM_PROMPT]' + message['content'] + '[/SYSTEM_PROMPT]' }}{%- elif message['role'] == 'user' %}{{- '[INST]' + message['content'] + '[/INST]' }}{%- else %}{{- message['content'] + eos_token }}{%- endif %}{%- endfor %}";
const MISTRAL_V1 =
  "{{ bos_token }}{% for message in loop_messages %}{% if message['role'] == 'user' %}{% if loop.first and system_message is defined %}{{ ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}{% else %}{{ ' [INST] ' + message['content'] + ' [/INST]' }}{% endif %}{% endif %}{% endfor %}";

const EXPECTED: Partial<Record<BuiltinChatTemplate, string>> = {
  chatml:
    '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n',
  llama2: '[INST] You are helpful.\nHi [/INST]Hello!</s>[INST] How are you? [/INST]',
  'llama2-sys':
    '[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi [/INST]Hello!</s>[INST] How are you? [/INST]',
  'llama2-sys-bos':
    '[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi [/INST]Hello!</s><s>[INST] How are you? [/INST]',
  llama3:
    '<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  'mistral-v1': ' [INST] You are helpful.\n\nHi [/INST] Hello!</s> [INST] How are you? [/INST]',
  'mistral-v3': '[INST] You are helpful.\n\nHi[/INST] Hello!</s>[INST] How are you?[/INST]',
  'mistral-v3-tekken': '[INST]You are helpful.\n\nHi[/INST]Hello!</s>[INST]How are you?[/INST]',
  'mistral-v7':
    '[SYSTEM_PROMPT] You are helpful.[/SYSTEM_PROMPT][INST] Hi[/INST] Hello!</s>[INST] How are you?[/INST]',
  zephyr:
    '<|system|>\nYou are helpful.<|endoftext|>\n<|user|>\nHi<|endoftext|>\n<|assistant|>\nHello!<|endoftext|>\n<|user|>\nHow are you?<|endoftext|>\n<|assistant|>\n',
  gemma:
    '<start_of_turn>user\nYou are helpful.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n',
  phi3: '<|system|>\nYou are helpful.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nHow are you?<|end|>\n<|assistant|>\n',
};

describe('Jinja chat templates', () => {
  it('renders a chatml template exactly', () => {
    expect(renderJinjaChatTemplate(CHATML, CHAT)).toBe(EXPECTED.chatml);
    expect(
      renderJinjaChatTemplate(CHATML, [{ role: 'user', content: 'Hi' }], { addGenerationPrompt: false }),
    ).toBe('<|im_start|>user\nHi<|im_end|>\n');
    expect(renderChat(CHAT, { template: CHATML })).toEqual({ text: EXPECTED.chatml, format: 'jinja' });
  });

  it('passes bos_token and eos_token', () => {
    const options = { bosToken: '<|begin_of_text|>' };
    expect(renderJinjaChatTemplate(LLAMA3, CHAT, options)).toBe(`<|begin_of_text|>${EXPECTED.llama3}`);
    expect(renderJinjaChatTemplate(MISTRAL_V01, NO_SYSTEM, { bosToken: '<s>', eosToken: '</s>' })).toBe(
      '<s>[INST] Hi [/INST]Hello!</s>[INST] How are you? [/INST]',
    );
  });

  it('agrees with the built-ins on the published templates, up to the BOS the template writes', () => {
    const bos = { bosToken: '<s>', eosToken: '</s>' };
    expect(renderJinjaChatTemplate(MISTRAL_V01, NO_SYSTEM, bos)).toBe(
      '<s>' + renderBuiltinChatTemplate('llama2', NO_SYSTEM),
    );
    expect(renderJinjaChatTemplate(GEMMA, NO_SYSTEM, bos)).toBe(
      '<s>' + renderBuiltinChatTemplate('gemma', NO_SYSTEM),
    );
    expect(renderJinjaChatTemplate(PHI3, CHAT, bos)).toBe(renderBuiltinChatTemplate('phi3', CHAT));
    expect(renderJinjaChatTemplate(LLAMA3, CHAT, bos)).toBe(
      '<s>' + renderBuiltinChatTemplate('llama3', CHAT),
    );
  });

  it('falls back to the detected built-in when the template fails', () => {
    // Gemma's template refuses a system message; the built-in folds it into the first user turn instead.
    const rendered = renderChat(CHAT, { template: GEMMA, bosToken: '<bos>' });
    expect(rendered.format).toBe('gemma');
    expect(rendered.text).toBe(EXPECTED.gemma);
    expect(String(rendered.jinjaError)).toMatch(/System role not supported/);
    // A syntax error is a failure too.
    expect(renderChat(NO_SYSTEM, { template: '{% for m in messages %}<|im_start|>{{ m.role' }).format).toBe(
      'chatml',
    );
  });

  it('throws when the template fails and matches no built-in', () => {
    expect(() => applyChatTemplate(CHAT, { template: "{{ raise_exception('nope') }}" })).toThrow(
      /matches no built-in/,
    );
  });
});

describe('built-in chat formats', () => {
  it.each(Object.entries(EXPECTED))('%s renders the expected text', (name, expected) => {
    expect(renderBuiltinChatTemplate(name as BuiltinChatTemplate, CHAT)).toBe(expected);
    expect(applyChatTemplate(CHAT, { template: name })).toBe(expected);
  });

  it('every built-in renders, and those with a generation prompt only add it on request', () => {
    for (const name of BUILTIN_CHAT_TEMPLATES) {
      const open = renderBuiltinChatTemplate(name, CHAT, true);
      const closed = renderBuiltinChatTemplate(name, CHAT, false);
      expect(open.startsWith(closed)).toBe(true);
      expect(open).toContain('How are you?');
    }
    expect(renderBuiltinChatTemplate('chatml', CHAT, false)).toBe(
      EXPECTED.chatml!.slice(0, -'<|im_start|>assistant\n'.length),
    );
  });

  it('trims content where llama.cpp does (llama3, gemma, mistral-v3 replies), not elsewhere', () => {
    const padded = [{ role: 'user', content: '  Hi \n' }];
    expect(renderBuiltinChatTemplate('llama3', padded, false)).toBe(
      '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>',
    );
    expect(renderBuiltinChatTemplate('chatml', padded, false)).toBe('<|im_start|>user\n  Hi \n<|im_end|>\n');
  });

  it("uses chatml when there is no template, and accepts 'mistral' for mistral-v3", () => {
    expect(applyChatTemplate(CHAT)).toBe(EXPECTED.chatml);
    expect(applyChatTemplate(CHAT, { fallback: 'gemma' })).toBe(EXPECTED.gemma);
    expect(applyChatTemplate(CHAT, { template: 'mistral' })).toBe(EXPECTED['mistral-v3']);
    expect(() => applyChatTemplate(CHAT, { fallback: 'nope' as 'chatml' })).toThrow(/unknown built-in/);
  });
});

describe('detectChatTemplate', () => {
  it.each([
    [CHATML, 'chatml'],
    [LLAMA3, 'llama3'],
    [MISTRAL_V01, 'llama2'],
    [LLAMA2, 'llama2-sys-strip'],
    [GEMMA, 'gemma'],
    [PHI3, 'phi3'],
    [ZEPHYR, 'zephyr'],
    [MISTRAL_V1, 'mistral-v1'],
    [MISTRAL_V3, 'mistral-v3'],
    [MISTRAL_V7, 'mistral-v7'],
    ["{{ '<|im_start|>' + role + '<|im_sep|>' }}", 'phi4'],
    ["{{ bos_token + '[INST] ' + '<<SYS>>' }}", 'llama2-sys-bos'],
    ["{{ '[INST] <<SYS>>' }}", 'llama2-sys'],
    ["{{ '<|user|>\\n' + content + '<|endoftext|>' }}", 'zephyr'],
    ["{{ 'USER: ' + content + ' ASSISTANT: ' }}", 'vicuna'],
    ['llama3', 'llama3'],
  ] as const)('%#: → %s', (template, name) => {
    expect(detectChatTemplate(template)).toBe(name);
  });

  it('returns undefined for formats without a built-in', () => {
    expect(detectChatTemplate('{{ messages }}')).toBeUndefined();
    expect(detectChatTemplate("{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' }}")).toBeUndefined();
    expect(detectChatTemplate("{{ '<|im_start|>' + '<end_of_utterance>' }}")).toBeUndefined();
  });
});

describe('chat prompts and the tokenizer', () => {
  const spec = trainByteLevelBpe(['hello there, how are you?'], {
    vocabSize: 300,
    specialTokens: ['<|begin_of_text|>', '<|end_of_text|>', '<|im_start|>', '<|im_end|>'],
  });
  const tokenizer = createTokenizer({ ...spec, chatTemplate: `{{ bos_token }}${CHATML}` });
  const id = (text: string): number => tokenizer.tokenId(text)!;

  it('renders with the model template and BOS text, and tokenizes it without a second BOS', () => {
    const prompt = applyTokenizerChatTemplate(tokenizer, NO_SYSTEM);
    expect(prompt).toBe(
      `<|begin_of_text|>${EXPECTED.chatml!.slice(EXPECTED.chatml!.indexOf('<|im_start|>user'))}`,
    );
    const ids = encodeChatPrompt(tokenizer, prompt);
    expect(ids.slice(0, 2)).toEqual([id('<|begin_of_text|>'), id('<|im_start|>')]);
    expect(ids.filter((i) => i === id('<|begin_of_text|>'))).toHaveLength(1);
    expect(ids.filter((i) => i === id('<|im_end|>'))).toHaveLength(3);
    expect(tokenizer.decode(ids, { special: true })).toBe(prompt);
    expect(tokenizer.isEog(id('<|im_end|>'))).toBe(true);
  });

  it('adds the BOS when the rendered prompt lacks it', () => {
    const plain = createTokenizer(spec);
    const ids = encodeChatPrompt(plain, applyTokenizerChatTemplate(plain, NO_SYSTEM));
    expect(ids.slice(0, 2)).toEqual([id('<|begin_of_text|>'), id('<|im_start|>')]);
  });
});
