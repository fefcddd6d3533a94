export { register, type LandedObject } from "./register";
export { validate, sniffCsv } from "./validate";
export { checksum } from "./checksum";
export { stage, chunkKey, LINE_COLUMN, type ChunkRef } from "./stage";
export { processChunk, parseChunk, type ChunkCounts, type RowReject } from "./process-chunk";
export { finalize, reconciliationOf, type Reconciliation } from "./finalize";
export { markFailed, errorMessage, type StepError } from "./mark-failed";
export { getImport, TERMINAL, type ImportRow, type ImportStatus } from "./repo";
