/** The converters `minivl adapt convert --from NAME` knows. */
import { bddX } from './bdd-x.ts';
import { classification } from './classification.ts';
import { drivelm } from './drivelm.ts';
import { generic } from './generic.ts';
import { gmaiMcq, pmcVqa, slake, vqaRad } from './medical.ts';
import { diorRsvg, geochat, rsvqa } from './remote-sensing.ts';
import type { Converter } from './types.ts';

export type { Converter, ConvertOutcome } from './types.ts';

export const CONVERTERS: Record<string, Converter> = {
  drivelm,
  'bdd-x': bddX,
  geochat,
  'dior-rsvg': diorRsvg,
  rsvqa,
  'vqa-rad': vqaRad,
  slake,
  'pmc-vqa': pmcVqa,
  'gmai-mcq': gmaiMcq,
  classification,
  generic,
};
