export { standardizePhone, type Phone } from "./phone";
export { standardizeEmail, type Email } from "./email";
export { parseName, standardizeName, nameCase, nameKey, type Name } from "./name";
export { formalName, nicknamesOf } from "./nicknames";
export {
  parseStreet,
  standardizeAddress,
  standardizeCity,
  standardizeState,
  standardizeZip,
  type Address,
} from "./address";
export { standardizeDob, type BirthDate } from "./dob";
export {
  standardizeContact,
  CONTACT_FIELDS,
  type ContactField,
  type ContactInput,
  type FieldProblem,
  type PersonRecord,
} from "./record";
export { mapHeaders, parseMapping, contactFromRow, headerKey, type HeaderMapping } from "./headers";
export { similarNames, nameSimilarity, compareDob, jaroWinkler, editsWithin } from "./similarity";
export {
  blockKeyHashes,
  blockKeys,
  compare,
  profileOf,
  CHANCE_LIMIT,
  DIFFERENCE_ODDS,
  type Link,
  type MatchProfile,
  type Verdict,
  type Tier,
} from "./match";
export { Matcher, MAX_BLOCK_LIMIT, type MatcherOptions } from "./matcher";
export { Frequencies, frequencyKeys, type CountedKind } from "./frequencies";
export {
  resolveImport,
  resolveImportUntil,
  upsertRecords,
  recordRow,
  recordColumns,
  PEOPLE_LOCK,
  type Resolution,
  type PausedResolution,
  type RecordRow,
  type Feeder,
} from "./resolve";
export * as Steward from "./steward";
