import { profileOf, type Link } from "./match";
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
  const matcher = new Matcher(options);
  const ids: string[] = [];
  const problems: FieldProblem[][] = [];
  for (const { id, input } of rows) {
    const record = standardizeContact(input);
    ids.push(id);
    problems.push(record.problems);
    matcher.add(profileOf(record));
  }
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
