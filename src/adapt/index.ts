/**
 * The unified adaptation framework, data side (../shared/spec/adaptation.md, training.md §4–5): the
 * InternVL chat JSONL format and meta (mixture) file, their validation, domain converters, and the
 * training-sample builder with packing. `minivl finetune` builds on this API:
 *
 *   import { readMeta, datasetLines, loadRecordSample, buildTrainingSample, Packer } from '../adapt/index.ts';
 *
 *   const meta = readMeta('mix.json');                      // MetaFile: { path, datasets: DatasetSpec[] }
 *   for (const ds of meta.datasets) {                       // { name, root, annotation, dataAugment,
 *     for (const line of datasetLines(ds)) {                //   repeatTime, maxDynamicPatch?, length? }
 *       // line: { dataset, lineNo (1-based in the annotation file), text } — the lines after repeat_time
 *       // (r < 1: the first floor(n·r) lines; r > 1 integer: the list repeated r times), file order.
 *       const rec = parseRecordLine(line);               // ChatRecord, or throws MinivlError "file:line: field: ..."
 *       const s = await loadRecordSample(rec, { tokenizer, template: 'Hermes-2', root: ds.rootPath,
 *                   maxDynamicPatch: ds.maxDynamicPatch ?? 12, maxLength: 8192, pixels: true,
 *                   dataAugment: ds.dataAugment, random });
 *       // s: { inputIds, labels, numTiles, numImageTokens, imageFlags, pixelValues? [T,3,448,448] }
 *     }
 *   }
 *   // With the reference's failure policy (a failed line → a random other line, ≤ 10 retries, failures returned):
 *   const lines = [...datasetLines(ds)];
 *   const { sample, line, failures } = await loadDatasetSample(lines, i, sampleOpts, { random });
 *
 *   // The core, no files involved (exact golden input_ids/labels, golden/training/training_samples.json):
 *   const { inputIds, labels } = buildTrainingSample({ tokenizer, template: 'phi3-chat',
 *     conversations: [{ from: 'human', value: '<image>\nWhat is it?' }, { from: 'gpt', value: 'A cat.' }],
 *     numImageTokens: [256 * 13], maxLength: 8192 });      // labels: -100 = not supervised
 *
 *   // Packing as the domain scripts do (training.md §5.2): ≤ 16384 tokens and ≤ 48 tiles per pack.
 *   const packer = new Packer<MySample>({ maxTokens: 16384, maxTiles: 48, maxBuffers: 20 });
 *   for (const pack of packer.push(sample)) train(pack);   // pack: { samples, inputIds, labels,
 *   for (const pack of packer.flush()) train(pack);        //   positionIds, cuSeqlens, numTiles }
 *   // and mixtureSampler(counts, seed) picks the next dataset ∝ its effective line count.
 *
 * Validation (`checkMeta`, `validateRecord`) reports every problem as { file, line, field, message }.
 * Converters (`CONVERTERS`, `runConverter`) are pure functions over source records plus a file layer
 * that writes atomically and refuses to overwrite without `force`.
 */
export { type ChatRecord, type Turn, type RecordKind, recordKind, recordImages, recordToLine } from './format/record.ts';
export { readMeta, parseMeta, datasetLines, effectiveLineCount, type MetaFile, type DatasetSpec, type DatasetLine } from './format/meta.ts';
export { parseRecordLine, validateRecord, validateLine, formatIssue, type Issue } from './format/validate.ts';
export { normalizeBox, denormalizeBox, roundHalfEven, parseBoxes, formatBox } from './format/boxes.ts';
export { checkMeta, formatCheckReport, type CheckReport, type CheckOptions, type DatasetReport } from './format/check.ts';
export { writeMix, generalRepeatTime, type MixOptions, type MixSummary } from './format/mix.ts';
export { resolveMediaPath, readJsonlLines } from './format/meta.ts';
export {
  buildTrainingSample, renderConversation, IGNORE_TOKEN_ID,
  type BuildSampleOptions, type TrainingSample, type RenderedConversation,
} from './sample/build.ts';
export {
  loadRecordSample, loadDatasetSample, recordTileBudget, jpegDegrade, imageSize,
  type RecordSample, type RecordSampleOptions, type SampleFailure,
} from './sample/record-sample.ts';
export { renderPreview, type PreviewOptions } from './sample/preview.ts';
export { Packer, mixtureSampler, type Pack, type PackerOptions, type PackableSample } from './sample/pack.ts';
export { CONVERTERS, type Converter, type ConvertOutcome } from './convert/registry.ts';
export { runConverter, type RunConverterOptions, type ConvertSummary } from './convert/run.ts';
export { cameraToStitched, stitchedToCamera, tagsToStitched, tagsToCamera, CAMERAS, CAMERA_GRID, type Camera } from './convert/ctag.ts';
export { stitchCameras } from './convert/stitch.ts';
