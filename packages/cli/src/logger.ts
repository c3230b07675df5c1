import { pino } from 'pino';
import type { Logger } from 'pino';

/** Structured JSON logs on stderr, so stdout stays for what the user asked to see. */
export function createLogger(level = process.env.OPENLEDGER_LOG ?? 'info'): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}
