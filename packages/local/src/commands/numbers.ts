import { InvalidArgumentError } from "commander";

/** A commander option parser for a whole number from `min` (a typo such as "2OO" is refused, not read as NaN or a default). */
export const wholeNumber = (min = 0) => (value: string): number => {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number from ${min}, got "${value}"`);
  return n;
};
