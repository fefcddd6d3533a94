/**
 * The chunk processor's fast path: splits a whole chunk body into records of fields in one pass
 * with native string search. It accepts exactly what csv-parse accepts with `relax_quotes`
 * and `skip_empty_lines` on the bodies Stage writes (records end in "\n"; a quote opens a
 * quoted field only at the start of a field; `""` is a literal quote inside one; a quote
 * elsewhere is literal text) and gives the same fields. Anything it is not sure of — a
 * quoted field that does not close, or text after a closing quote — makes it return
 * undefined, and the caller parses the body with csv-parse, record by record. The unit tests
 * hold it to csv-parse on generated bodies.
 */
/** csv-parse's options for chunk bodies: the fallback and the reference the fast path is held to. */
export function chunkParseOptions(delimiter: string, quote = '"') {
  return {
    delimiter,
    quote,
    escape: quote,
    record_delimiter: "\n",
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
  } as const;
}

/** `quote` is the dialect's quote character (doubled inside a quoted field), '"' unless a reader says otherwise. */
export function splitBody(body: string, delimiter: string, quote = '"'): string[][] | undefined {
  const records: string[][] = [];
  return forEachRecord(body, delimiter, quote, (fields) => records.push(fields)) === undefined ? undefined : records;
}

/**
 * splitBody without holding the records: hands each record to `sink` as it is split (so a
 * chunk's records die young instead of all living until the end) and returns how many there
 * were, or undefined — after some records may already have reached the sink — when the body
 * needs csv-parse.
 */
export function forEachRecord(
  body: string,
  delimiter: string,
  QUOTE: string,
  sink: (fields: string[]) => void,
): number | undefined {
  if (QUOTE.length !== 1 || QUOTE === "\n") throw new Error(`unsupported quote ${JSON.stringify(QUOTE)}`);
  if (delimiter.length !== 1 || delimiter === QUOTE || delimiter === "\n")
    throw new Error(`unsupported delimiter ${JSON.stringify(delimiter)}`);
  let count = 0;
  const end = body.length;
  let pos = 0;
  let nextQuote = body.indexOf(QUOTE);
  if (nextQuote < 0) nextQuote = end;
  while (pos < end) {
    let nl = body.indexOf("\n", pos);
    if (nl < 0) nl = end;
    if (nl === pos) {
      pos++;
      continue;
    }
    if (nextQuote < pos) {
      nextQuote = body.indexOf(QUOTE, pos);
      if (nextQuote < 0) nextQuote = end;
    }
    if (nextQuote >= nl) {
      // No quote on this line: the common case.
      sink(body.slice(pos, nl).split(delimiter));
      count++;
      pos = nl + 1;
      continue;
    }
    // A line with quotes: field by field; a quoted field may run over newlines.
    const fields: string[] = [];
    let lineEnd = nl;
    for (;;) {
      if (body[pos] === QUOTE) {
        let value = "";
        let from = pos + 1;
        for (;;) {
          const q = body.indexOf(QUOTE, from);
          if (q < 0) return undefined;
          value += body.slice(from, q);
          if (body[q + 1] === QUOTE) {
            value += QUOTE;
            from = q + 2;
            continue;
          }
          pos = q + 1;
          break;
        }
        fields.push(value);
        const after = body[pos];
        if (after === delimiter) {
          pos++;
          if (pos > lineEnd) {
            // The quoted field ran over newlines: find the end of the line it ended on.
            lineEnd = body.indexOf("\n", pos);
            if (lineEnd < 0) lineEnd = end;
          }
          continue;
        }
        if (after === "\n" || pos >= end) {
          pos++;
          break;
        }
        return undefined;
      }
      if (pos > lineEnd) {
        lineEnd = body.indexOf("\n", pos);
        if (lineEnd < 0) lineEnd = end;
      }
      let stop = body.indexOf(delimiter, pos);
      if (stop < 0 || stop > lineEnd) stop = lineEnd;
      fields.push(body.slice(pos, stop));
      pos = stop + 1;
      if (stop === lineEnd) break;
      if (pos === lineEnd || pos >= end) {
        // A delimiter right before the line end: one more, empty, field.
        fields.push("");
        pos = lineEnd + 1;
        break;
      }
    }
    sink(fields);
    count++;
  }
  return count;
}
