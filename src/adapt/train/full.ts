/**
 * What each mode trains (training.md §6). Full fine-tuning: every checkpoint tensor of the LLM (token embedding included)
 * and of the projector mlp1 is trained; the ViT stays frozen, as in the released "full" 2nd fine-tune
 * scripts, unless `trainVision` (the domain-adaptation scripts train everything). Drop path defaults
 * per mode come from the script tables (§9): 0.1 for full and domain adaptation, 0 for LoRA.
 */
import type { FinetuneMode } from './trainer.ts';

/** The checkpoint tensors a mode trains in full (LoRA adapters aside): none for lora, mlp1 for mlp. */
export function modeTrainable(mode: FinetuneMode, trainVision: boolean): ((name: string) => boolean) | readonly string[] {
  return mode === 'mlp' ? (name) => name.startsWith('mlp1.') : mode === 'full' ? fullModeTrainable(trainVision) : [];
}

export function fullModeTrainable(trainVision: boolean): (name: string) => boolean {
  return (name) => name.startsWith('language_model.') || name.startsWith('mlp1.') || (trainVision && name.startsWith('vision_model.'));
}

/** training.md §9.1 / §9.2: drop_path 0.1 in the full and domain scripts, 0.0 in the LoRA ones. */
export const DEFAULT_DROP_PATH_RATE: Readonly<Record<FinetuneMode, number>> = { lora: 0, mlp: 0, full: 0.1 };
