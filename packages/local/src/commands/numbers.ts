import { InvalidArgumentError } from "commander";

/** A commander option parser for a whole number from `min` to `max` (a typo such as "2OO" is refused, not read as NaN or a default). */
export const wholeNumber = (min = 0, max = Number.MAX_SAFE_INTEGER) => (value: string): number => {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`expected a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ""}, got "${value}"`);
  }
  return n;
};
