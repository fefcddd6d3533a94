import { Frequencies } from "../people/frequencies";
import { profileOf, type Link, type MatchProfile } from "../people/match";
import { Matcher, type MatcherOptions } from "../people/matcher";
import { linkRecords, modelRecordOf, type ModelLink, type ModelOptions } from "./model";
import { standardizedBatches, type ParallelOptions, type ProfileBatch } from "./parallel";
import { standardizeContact, type ContactInput, type FieldProblem } from "../people/record";

export interface ClusteredRow {
  id: string;
  clusterId: string;
  /** The strongest link of this row to another row of its cluster; null for a row alone. */
  score: number | null;
  reason: string;
  problems: FieldProblem[];
}

export interface ClusterSummary {
  rows: number;
  clusters: number;
  links: number;
  oversizedBlocks: number;
}

/** A row of a list: its id (for the output) and its contact. */
export interface ClusterInput {
  id: string;
  input: ContactInput;
}

/**
 * Clusters a list of contacts (the `leadpipe match` use case): standardize each row, link rows
 * that are the same person, and name each cluster after the id of its first row.
 */
export function clusterContacts(
  rows: Iterable<ClusterInput>,
  options: MatcherOptions = {},
): { rows: ClusteredRow[]; summary: ClusterSummary } {
  const ids: string[] = [];
  const problems: FieldProblem[][] = [];
  const profiles: MatchProfile[] = [];
  for (const { id, input } of rows) {
    const record = standardizeContact(input);
    ids.push(id);
    problems.push(record.problems);
    profiles.push(profileOf(record));
  }
  const { matcher, count } = matcherOf(options);
  for (const profile of profiles) count(profile);
  for (const profile of profiles) matcher.add(profile);
  return clustered(matcher, ids, problems);
}

/**
 * clusterContacts with the rows standardized (and their blocking keys hashed) on a worker thread
 * while this one receives them (standardizedBatches): the same clusters, links and problems
 * (`leadpipe match` of 950,924 rows, read as they are standardized: 23 s → 16 s). The rows may
 * arrive as they are read (a file): reading then overlaps standardizing. The worker costs a fifth
 * of a second to start.
 */
export async function clusterContactsOnWorker(
  rows: Iterable<ClusterInput> | AsyncIterable<ClusterInput>,
  options: MatcherOptions & { parallel?: ParallelOptions } = {},
): Promise<{ rows: ClusteredRow[]; summary: ClusterSummary }> {
  const { parallel, ...matching } = options;
  // Built first: a guard it refuses is refused before the list is standardized. It only reads the counts, made as batches come in.
  const { matcher, count } = matcherOf(matching);
  const ids: string[] = [];
  async function* inputsOf(stream: AsyncIterable<ClusterInput>) {
    for await (const row of stream) {
      ids.push(row.id);
      yield row.input;
    }
  }
  let inputs: Iterable<ContactInput> | AsyncIterable<ContactInput>;
  if (Symbol.asyncIterator in rows) inputs = inputsOf(rows);
  else {
    const list = [...rows];
    for (const row of list) ids.push(row.id);
    inputs = list.map((row) => row.input);
  }
  const problems: FieldProblem[][] = [];
  const batches: ProfileBatch[] = [];
  for await (const batch of standardizedBatches(inputs, parallel)) {
    const at = problems.length;
    for (const profile of batch.profiles) {
      count(profile);
      problems.push([]);
    }
    for (const [i, found] of batch.problems) problems[at + i] = found;
    batches.push(batch);
  }
  for (const { profiles, keys, keyStarts } of batches)
    for (let k = 0; k < profiles.length; k++) matcher.addKeyed(profiles[k]!, keys, keyStarts[k]!, keyStarts[k + 1]!);
  return clustered(matcher, ids, problems);
}

/**
 * A matcher for a list that is its own population: names are weighed by how common they are in all
 * of it, counted (`count`) before matching; with the caller's frequencies, `count` does nothing.
 */
function matcherOf(options: MatcherOptions): { matcher: Matcher; count: (profile: MatchProfile) => void } {
  const frequencies = options.frequencies ?? new Frequencies();
  const matcher = new Matcher({ ...options, frequencies });
  return { matcher, count: options.frequencies === undefined ? (profile) => frequencies.count(profile) : () => {} };
}

/**
 * Each row's cluster (named after its first row's id) and strongest link within it. A link the cluster check refused
 * (Matcher.clusters) joins nothing and is neither shown nor counted, as resolveImport does not store it.
 */
function clustered(
  matcher: Matcher,
  ids: readonly string[],
  problems: readonly FieldProblem[][],
): { rows: ClusteredRow[]; summary: ClusterSummary } {
  const clusters = matcher.clusters();
  const links = matcher.links.filter((l) => clusters[l.from] === clusters[l.to]);
  const best: (Link | undefined)[] = new Array(ids.length);
  for (const link of links) {
    for (const end of [link.from, link.to]) {
      const current = best[end];
      if (!current || link.score > current.score) best[end] = link;
    }
  }
  const roots = new Set<number>();
  const out = ids.map((id, i) => {
    const root = clusters[i]!;
    roots.add(root);
    const link = best[i];
    return {
      id,
      clusterId: ids[root]!,
      score: link ? link.score : null,
      reason: link ? link.reason : "no match",
      problems: problems[i]!,
    };
  });
  return {
    rows: out,
    summary: { rows: ids.length, clusters: roots.size, links: links.length, oversizedBlocks: matcher.oversized.size },
  };
}

/**
 * clusterContacts with the Fellegi–Sunter model (`leadpipe match --model fs`): the model is trained
 * on the list itself (EM, no labels) and links the rows whose match probability reaches the
 * threshold. The score is that probability of the row's strongest link, the reason its weight and
 * each field's part in it. The same partition for any order of the rows.
 */
export function clusterContactsWithModel(
  rows: Iterable<ClusterInput>,
  options: ModelOptions = {},
): { rows: ClusteredRow[]; summary: ClusterSummary } {
  const ids: string[] = [];
  const problems: FieldProblem[][] = [];
  const records = [];
  for (const { id, input } of rows) {
    const record = standardizeContact(input);
    ids.push(id);
    problems.push(record.problems);
    records.push(modelRecordOf(record));
  }
  const result = linkRecords(records, options);
  const best: (ModelLink | undefined)[] = new Array(ids.length);
  for (const link of result.links) {
    for (const end of [link.from, link.to]) {
      const current = best[end];
      if (!current || link.weight > current.weight) best[end] = link;
    }
  }
  const roots = new Set<number>();
  const out = ids.map((id, i) => {
    roots.add(result.clusters[i]!);
    const link = best[i];
    return {
      id,
      clusterId: ids[result.clusters[i]!]!,
      score: link ? Math.round(link.probability * 10000) / 10000 : null,
      reason: link ? result.reason(link.from, link.to) : "no match",
      problems: problems[i]!,
    };
  });
  return {
    rows: out,
    summary: {
      rows: ids.length,
      clusters: roots.size,
      links: result.links.length,
      oversizedBlocks: result.blocks.oversized,
    },
  };
}
