export { openReader } from "./readers";
export { readMappingFile, tableSpecs, describeSpecs } from "./mapping";
export {
  startRun,
  getRun,
  landTables,
  replayQuarantine,
  reconcile,
  summary,
  LEGACY_SOURCE,
  landsLater,
  type RunOptions,
  type Manifest,
  type LandedRange,
} from "./run";
