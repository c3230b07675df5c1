import { InvalidArgumentError } from 'commander';
import { DEFAULT_DATA_PORT } from './data.ts';

/** The data plane `openledger devnet` (and `openledger data serve`) starts by default. */
export const DEFAULT_DATA_PLANE = `http://127.0.0.1:${DEFAULT_DATA_PORT}`;

/** Commander parser of `--data-plane`: an http(s) URL, without trailing slashes. */
export function dataPlaneUrl(value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error();
  } catch {
    throw new InvalidArgumentError(`expected an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, '');
}

/** An answer of the data plane that is not a success, as one line: `HTTP 413 file-too-large: …`. */
export async function failure(response: Response, what: string): Promise<Error> {
  const text = await response.text().catch(() => '');
  let message = text.slice(0, 500);
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error) message = `${body.error.code}: ${body.error.message}`;
  } catch {
    // Not JSON: the text itself.
  }
  return new Error(`${what}: HTTP ${response.status}${message ? ` ${message}` : ''}`);
}
