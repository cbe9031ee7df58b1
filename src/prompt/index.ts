/**
 * Conversation templates, prompt rendering with image tokens, and grounding output parsing for
 * InternVL2 / Mini-InternVL, as the reference renders them.
 *
 * Typical use (one image of 9 tiles, first turn):
 *   const { prompt, stopSep } = renderPrompt({ template: config.template, question: 'Describe the image.',
 *                                              numPatchesList: [9] });
 *   // tokenize `prompt`; stop generation on the id of `stopSep`; answer = extractResponse(decoded, template)
 */
export {
  getTemplate, stopSeparator, renderMessages, pyStrip, PY_SPACE, TEMPLATE_NAMES, SYSTEM_MESSAGES,
  type ConversationTemplate, type Message,
} from './templates.ts';
export {
  renderPrompt, answerFromDecoded, extractResponse, expandImagePlaceholders, imageTokens, multiImagePrefix, videoFramePrefix,
  countImagePlaceholders, IMAGE_PLACEHOLDER, IMG_START_TOKEN, IMG_END_TOKEN, IMG_CONTEXT_TOKEN, NUM_IMAGE_TOKEN,
  type RenderPromptOptions, type RenderedPrompt,
} from './render.ts';
export { parseGrounding, denormalizeBox, formatBoxes, formatGrounding, type Box, type GroundedRef } from './grounding.ts';
