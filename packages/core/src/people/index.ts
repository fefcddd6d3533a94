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
export {
  keyedBatch,
  ProfileWorker,
  standardizedBatches,
  standardizedProfiles,
  type ParallelOptions,
  type ProfileBatch,
} from "./parallel";
export { Frequencies, frequencyKeys, type CountedKind } from "./frequencies";
export {
  clusterContacts,
  clusterContactsOnWorker,
  clusterContactsWithModel,
  type ClusterInput,
  type ClusteredRow,
  type ClusterSummary,
} from "./cluster";
export { pairwiseScores, type PairwiseScores } from "./accuracy";
export {
  resolveImport,
  upsertRecords,
  recordRow,
  recordColumns,
  PEOPLE_LOCK,
  type Resolution,
  type RecordRow,
  type Feeder,
} from "./resolve";
export {
  resolvePeople,
  resolvePending,
  mortgageBorrowers,
  FEEDERS,
  PEOPLE_MAX_ATTEMPTS,
  type PeopleFailure,
} from "./feeders";
export {
  linkRecords,
  modelRecordOf,
  MODEL_FIELDS,
  type ModelRecord,
  type ModelOptions,
  type ModelResult,
  type ModelLink,
  type TrainedModel,
  type Contribution,
} from "./model";
export * as Steward from "./steward";
