/**
 * The people domain's public API: what callers outside people/ use (the CLI, the console, the
 * benchmarks, the tests). Everything else in this folder is reached by its own module from inside
 * core (e.g. matching/ imports people/match directly).
 */
export { standardizePhone } from "./phone";
export { standardizeEmail } from "./email";
export { parseName, standardizeName, nameKey } from "./name";
export { formalName, nicknamesOf } from "./nicknames";
export {
  parseStreet,
  standardizeAddress,
  standardizeCity,
  standardizeState,
  standardizeZip,
} from "./address";
export { standardizeDob } from "./dob";
export { standardizeContact, CONTACT_FIELDS, type ContactInput } from "./record";
export { mapHeaders, parseMapping, contactFromRow, headerKey } from "./headers";
export { blockKeyHashes, blockKeys, blocksMeet, compare, generationOf, profileOf, type MatchProfile } from "./match";
export { Matcher, MAX_BLOCK_LIMIT } from "./matcher";
export { Frequencies, frequencyKeys, regionKey } from "./frequencies";
export { MAX_CANDIDATES, resolveImport, upsertRecords, recordRow, type RecordRow } from "./resolve";
export * as Steward from "./steward";
