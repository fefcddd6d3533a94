/**
 * Code compiled at run time, in one place.
 *
 * A few hot paths (a row schema's validator, the binary COPY tuple writer, the IMb bar mapping)
 * are compiled into straight-line functions for the shape they serve: each value read at a site
 * of its own, which the engine optimises far better than one loop reading by a varying key.
 * Each of them also has a plain path that does the same work with ordinary loops. Set
 * `LEADPIPE_CODEGEN=off` to run the plain paths (stack traces with real line numbers, a debugger
 * that steps through source); tests check that both paths give the same results.
 */

/** Whether generated code is used: unless LEADPIPE_CODEGEN is "off" (or "0", "false"). */
export function codegenEnabled(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const v = env.LEADPIPE_CODEGEN?.trim().toLowerCase();
  return !(v === "off" || v === "0" || v === "false");
}

/**
 * Compiles `body` as a function of `params` and calls it with `args`: the one `new Function` of
 * the code base. Callers pass only text they built from their own tables and quoted names
 * (JSON.stringify), never a value read from a file.
 */
export function compile<T>(params: readonly string[], body: string, args: readonly unknown[] = []): T {
  return new Function(...params, body)(...args) as T;
}
