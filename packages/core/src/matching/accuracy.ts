/** Pairwise precision, recall and F1 of a clustering against the truth. */
export interface PairwiseScores {
  truePairs: number;
  predictedPairs: number;
  correctPairs: number;
  precision: number;
  recall: number;
  f1: number;
}

const pairs = (n: number) => (n * (n - 1)) / 2;

/**
 * `truth[i]` and `predicted[i]` are the true person and the predicted cluster of record i. A pair
 * of records is predicted when both are in one cluster, true when both are one person; counted
 * from the cluster sizes, so it costs O(records), not O(pairs).
 */
export function pairwiseScores(
  truth: ArrayLike<number | string>,
  predicted: ArrayLike<number | string>,
): PairwiseScores {
  if (truth.length !== predicted.length)
    throw new Error(`truth has ${truth.length} records, the prediction ${predicted.length}`);
  const t = new Map<number | string, number>(),
    p = new Map<number | string, number>(),
    both = new Map<string, number>();
  for (let i = 0; i < truth.length; i++) {
    t.set(truth[i]!, (t.get(truth[i]!) ?? 0) + 1);
    p.set(predicted[i]!, (p.get(predicted[i]!) ?? 0) + 1);
    const k = `${truth[i]}\u0000${predicted[i]}`;
    both.set(k, (both.get(k) ?? 0) + 1);
  }
  let truePairs = 0,
    predictedPairs = 0,
    correctPairs = 0;
  for (const n of t.values()) truePairs += pairs(n);
  for (const n of p.values()) predictedPairs += pairs(n);
  for (const n of both.values()) correctPairs += pairs(n);
  const precision = predictedPairs === 0 ? 1 : correctPairs / predictedPairs;
  const recall = truePairs === 0 ? 1 : correctPairs / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { truePairs, predictedPairs, correctPairs, precision, recall, f1 };
}
