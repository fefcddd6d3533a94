/** Lambda's context method: the time left before the function's 15-minute limit. */
export function withDeadline<T extends object>(context: T): T & { getRemainingTimeInMillis(): number } {
  const deadline = Date.now() + 900_000;
  return { ...context, getRemainingTimeInMillis: () => deadline - Date.now() };
}
