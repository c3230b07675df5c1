/**
 * Which built-in format a Jinja chat template is, judged by marker strings it contains, as llama.cpp's
 * `llm_chat_detect_template` does (same markers, same order; one deviation, marked below). Used when our Jinja engine cannot render a
 * template: the built-in then produces the same prompt.
 */
import { builtinChatTemplate, type BuiltinChatTemplate } from './chat-builtins.ts';

export function detectChatTemplate(template: string): BuiltinChatTemplate | undefined {
  const named = builtinChatTemplate(template);
  if (named) return named;
  const has = (marker: string): boolean => template.includes(marker);

  if (has('<|im_start|>')) {
    if (has('<|im_sep|>')) return 'phi4';
    // SmolVLM uses <|im_start|> as its BOS but is not chatml, and we have no built-in for it.
    return has('<end_of_utterance>') ? undefined : 'chatml';
  }
  if (template.startsWith('mistral') || has('[INST]')) {
    if (has('[SYSTEM_PROMPT]')) return 'mistral-v7';
    // Mistral's official v1/v3/v3-tekken templates; see mistralai/cookbook, concept-deep-dive/tokenization.
    if (has("' [INST] ' + system_message") || has('[AVAILABLE_TOOLS]')) {
      if (has(' [INST]')) return 'mistral-v1';
      if (has('"[INST]"')) return 'mistral-v3-tekken';
      return 'mistral-v3';
    }
    if (has('content.strip()')) return 'llama2-sys-strip';
    if (has("bos_token + '[INST]")) return 'llama2-sys-bos';
    if (has('<<SYS>>')) return 'llama2-sys';
    return 'llama2';
  }
  if (has('<|assistant|>') && has('<|end|>')) return 'phi3';
  if (has('[gMASK]<sop>')) return undefined; // chatglm4
  if (has('<|assistant|>') && has('<|user|>')) {
    if (has('</s>')) return 'falcon3';
    // llama.cpp calls this GLM-Edge, which also catches Zephyr's own template (it writes eos_token where
    // our marker below looks for a literal <|endoftext|>); GLM-Edge's template never ends a turn with EOS.
    return has('eos_token') ? 'zephyr' : undefined;
  }
  if (has("<|{{ item['role'] }}|>") && has('<|begin_of_image|>')) return undefined; // glmedge
  if (has('<|user|>') && has('<|endoftext|>')) return 'zephyr';
  if (has("bos_token + message['role']")) return undefined; // monarch
  if (has('<start_of_turn>')) return 'gemma';
  if (has("'\\n\\nAssistant: ' + eos_token")) return undefined; // orion
  if (has('GPT4 Correct ')) return undefined; // openchat
  if (has('USER: ') && has('ASSISTANT: ')) return has('SYSTEM: ') ? 'vicuna-orca' : 'vicuna';
  if (has('### Instruction:') && has('<|EOT|>')) return undefined; // deepseek coder
  if (has('<|START_OF_TURN_TOKEN|>') && has('<|USER_TOKEN|>')) return undefined; // command-r
  if (has('<|start_header_id|>') && has('<|end_header_id|>')) return 'llama3';
  return undefined;
}
