import { traceFields } from '../telemetry/log-context.js';

/** One JSON object per line on stderr: what a log pipeline in a cluster expects. Quiet below `level`. */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(
  level: Level = 'info',
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const at =
    (l: Level) =>
    (msg: string, fields: Record<string, unknown> = {}): void => {
      if (ORDER[l] < ORDER[level]) return;
      write(`${JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields, ...traceFields() })}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
