import { InvalidArgumentError } from "commander";

/** A commander option parser for a whole number from `min` to `max` (a typo such as "2OO" is refused, not read as NaN or a default). */
export const wholeNumber = (min = 0, max = Number.MAX_SAFE_INTEGER) => (value: string): number => {
  // Digits only: Number() alone would take "0x10", "1e3" and "+5".
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`expected a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ""}, got "${value}"`);
  }
  return n;
};
