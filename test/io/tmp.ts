// Moved to test/helpers/tmp.ts (shared by all areas); kept so existing imports of '../io/tmp.ts' still work.
export { tempDir, rejectsWith } from '../helpers/tmp.ts';
