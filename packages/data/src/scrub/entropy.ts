const asciiCounts = new Int32Array(128);

/** Shannon entropy of the characters of `s`, in bits per character. */
export function shannonEntropy(s: string, start = 0, end = s.length): number {
  const n = end - start;
  if (n <= 0) return 0;
  let wide: Map<number, number> | undefined;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) asciiCounts[c]!++;
    else (wide ??= new Map()).set(c, (wide.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) continue;
    const k = asciiCounts[c]!;
    if (k === 0) continue;
    const p = k / n;
    h -= p * Math.log2(p);
    asciiCounts[c] = 0;
  }
  if (wide) {
    for (const k of wide.values()) {
      const p = k / n;
      h -= p * Math.log2(p);
    }
  }
  return h;
}

/**
 * True when the letters and digits of `s[start, end)` come in long runs (words, camelCase or
 * snake/kebab identifiers, slugs, numbers), as opposed to the short alternating runs of random
 * tokens: at least 3 characters per run on average. A single capital followed by lower-case
 * letters is one run ("getUserName2024" is 4 runs); after several capitals the last one starts the
 * next word ("HTTPServer" is 2 runs).
 */
export function looksLikeWords(s: string, start = 0, end = s.length): boolean {
  let runs = 0;
  let alnum = 0;
  let prev = 0; // 0 separator, 1 digit, 2 lower, 3 upper
  let upperRun = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    const cls = c >= 48 && c <= 57 ? 1 : c >= 97 && c <= 122 ? 2 : c >= 65 && c <= 90 ? 3 : 0;
    if (cls === 0) {
      prev = 0;
      upperRun = 0;
      continue;
    }
    alnum++;
    if (cls !== prev) {
      if (!(prev === 3 && cls === 2 && upperRun === 1)) runs++;
    }
    upperRun = cls === 3 ? upperRun + 1 : 0;
    prev = cls;
  }
  return runs > 0 && alnum / runs >= 3;
}
