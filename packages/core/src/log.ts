/** One logger: JSON lines with persistent keys (import id, file key, chunk). Never log secrets or row contents. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

type Level = "info" | "warn" | "error";
const order: Record<Level | "silent", number> = { info: 1, warn: 2, error: 3, silent: 9 };

function errorFields(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message } : v;
  }
  return out;
}

export function createLogger(
  base: LogFields = {},
  sink: (line: string) => void = (l) => process.stderr.write(l + "\n"),
): Logger {
  const threshold = order[(process.env.LOG_LEVEL as Level | "silent" | undefined) ?? "info"] ?? 1;
  const write = (level: Level, msg: string, fields?: LogFields) => {
    if (order[level] < threshold) return;
    sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...errorFields(fields) }));
  };
  return {
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ ...base, ...fields }, sink),
  };
}

export const log = createLogger({ service: "leadpipe" });
