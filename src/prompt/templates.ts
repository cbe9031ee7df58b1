/**
 * The conversation templates of InternVL2 / Mini-InternVL (`conversation.py`, all of separator style MPT).
 * As the reference's conversation.py defines them (prompting spec §1).
 */
import { fail } from '../errors.ts';

/** One conversation template. `{system_message}` in `systemTemplate` is replaced by the system message. */
export interface ConversationTemplate {
  name: string;
  systemTemplate: string;
  /** Default system message of the template (overridable per checkpoint or per call). */
  systemMessage: string;
  /** [user role, assistant role]; both end in a newline. */
  roles: [string, string];
  /** Appended after the system block and after every non-empty message. */
  sep: string;
}

/** Exact system-message strings (prompting.md §1.1). */
export const SYSTEM_MESSAGES = {
  /** InternVL2-1B / 2B / 4B (all three templates). */
  internvl2: '你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, 是一个有用无害的人工智能助手。',
  /** Mini-InternVL-Chat-2B-V1-5 (`internlm2-chat`). */
  miniInternvl2bV15: 'You are an AI assistant whose name is InternLM (书生·浦语).',
  /** Mini-InternVL-Chat-4B-V1-5 (`phi3-chat`). */
  miniInternvl4bV15: 'You are an AI assistant whose name is Phi-3.',
  /** InternVL 2.5 checkpoints (`internvl2_5`). */
  internvl25: '你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。',
} as const;

const CHATML_ROLES: [string, string] = ['<|im_start|>user\n', '<|im_start|>assistant\n'];

const TEMPLATES: Record<string, ConversationTemplate> = {
  'Hermes-2': {
    name: 'Hermes-2',
    systemTemplate: '<|im_start|>system\n{system_message}',
    systemMessage: SYSTEM_MESSAGES.internvl2,
    roles: CHATML_ROLES,
    sep: '<|im_end|>',
  },
  'internlm2-chat': {
    name: 'internlm2-chat',
    systemTemplate: '<|im_start|>system\n{system_message}',
    systemMessage: SYSTEM_MESSAGES.internvl2,
    roles: CHATML_ROLES,
    sep: '<|im_end|>',
  },
  'phi3-chat': {
    name: 'phi3-chat',
    systemTemplate: '<|system|>\n{system_message}',
    systemMessage: SYSTEM_MESSAGES.internvl2,
    roles: ['<|user|>\n', '<|assistant|>\n'],
    sep: '<|end|>',
  },
  internvl2_5: {
    name: 'internvl2_5',
    systemTemplate: '<|im_start|>system\n{system_message}',
    systemMessage: SYSTEM_MESSAGES.internvl25,
    roles: CHATML_ROLES,
    sep: '<|im_end|>\n',
  },
};

/** Names accepted by `getTemplate` (the `template` field of a checkpoint's config.json). */
export const TEMPLATE_NAMES: readonly string[] = Object.keys(TEMPLATES);

/** A fresh copy of the named template; unknown names give a one-line MinivlError listing the known ones. */
export function getTemplate(name: string): ConversationTemplate {
  const t = TEMPLATES[name] ?? fail(`unknown conversation template '${name}' (known: ${TEMPLATE_NAMES.join(', ')})`);
  return { ...t, roles: [...t.roles] };
}

/**
 * The stop string / eos token text: the separator without surrounding whitespace, as the reference does
 * (`tokenizer.convert_tokens_to_ids(template.sep.strip())`).
 */
export function stopSeparator(t: ConversationTemplate): string {
  return pyStrip(t.sep);
}

/** Whitespace as Python's `str.isspace()` sees it (what `str.strip()` removes), as a RegExp class body. */
export const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP_RE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

/** Python `str.strip()` (JS `trim()` differs: it strips U+FEFF and keeps U+001C..U+001F and U+0085). */
export function pyStrip(s: string): string {
  return s.replace(PY_STRIP_RE, '');
}

/** A message of a conversation: role string and text; null or '' renders the role alone (the open turn). */
export type Message = [role: string, text: string | null];

/** `Conversation.get_prompt()` for separator style MPT. */
export function renderMessages(t: ConversationTemplate, messages: Message[], systemMessage = t.systemMessage): string {
  // split/join instead of replace(): a '$' in the system message must not be treated as a pattern.
  let out = t.systemTemplate.split('{system_message}').join(systemMessage) + t.sep;
  for (const [role, text] of messages) out += text ? role + text + t.sep : role;
  return out;
}
