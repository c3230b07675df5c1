import type { RequestHeaders } from './types.ts';

/** A header's value whatever the case of its name; the first of repeated ones; undefined if absent. */
export function headerOf(headers: RequestHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(
    headers as Record<string, string | readonly string[] | undefined>,
  )) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    return typeof value === 'string' ? value : value[0];
  }
  return undefined;
}

/** The token of `Authorization: Bearer <token>`, if there is one. */
export function bearerOf(headers: RequestHeaders): string | undefined {
  const value = headerOf(headers, 'authorization');
  const match = value === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1] : undefined;
}
