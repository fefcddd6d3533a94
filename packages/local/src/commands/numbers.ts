import { InvalidArgumentError } from "commander";

/** A commander option parser for a whole number from `min` (to `max`, if given): a typo such as "2OO" is refused, not read as NaN or a default. */
export const wholeNumber =
  (min = 0, max?: number) =>
  (value: string): number => {
    // Digits only: Number() alone would take "0x10", "1e3" and "+5".
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
      throw new InvalidArgumentError(
        `expected a whole number from ${min}${max === undefined ? "" : ` to ${max}`}, got "${value}"`,
      );
    }
    return n;
  };
