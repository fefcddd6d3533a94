import { Frequencies } from "./frequencies";
import { profileOf, type Link, type MatchProfile } from "./match";
import { Matcher, type MatcherOptions } from "./matcher";
import { standardizeContact, type ContactInput, type FieldProblem } from "./record";

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

/**
 * Clusters a list of contacts (the `leadpipe match` use case): standardize each row, link rows
 * that are the same person, and name each cluster after the id of its first row.
 */
export function clusterContacts(rows: Iterable<{ id: string; input: ContactInput }>, options: MatcherOptions = {}): { rows: ClusteredRow[]; summary: ClusterSummary } {
  const ids: string[] = [];
  const problems: FieldProblem[][] = [];
  const profiles: MatchProfile[] = [];
  // The list is the population: names are weighed by how common they are in all of it, counted before matching.
  const frequencies = options.frequencies ?? new Frequencies();
  const count = options.frequencies === undefined;
  for (const { id, input } of rows) {
    const record = standardizeContact(input);
    ids.push(id);
    problems.push(record.problems);
    const profile = profileOf(record);
    profiles.push(profile);
    if (count) frequencies.count(profile);
  }
  const matcher = new Matcher({ ...options, frequencies });
  for (const profile of profiles) matcher.add(profile);
  const best: (Link | undefined)[] = new Array(ids.length);
  for (const link of matcher.links) {
    for (const end of [link.from, link.to]) {
      const current = best[end];
      if (!current || link.score > current.score) best[end] = link;
    }
  }
  const roots = new Set<number>();
  const out = ids.map((id, i) => {
    const root = matcher.find(i);
    roots.add(root);
    const link = best[i];
    return { id, clusterId: ids[root]!, score: link ? link.score : null, reason: link ? link.reason : "no match", problems: problems[i]! };
  });
  return { rows: out, summary: { rows: ids.length, clusters: roots.size, links: matcher.links.length, oversizedBlocks: matcher.oversized.size } };
}
