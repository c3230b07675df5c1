/**
 * WordNet 3.0 definitions and usage examples (~117k synsets, ~8.6 MB of text) from Debian's
 * wordnet-base package (`apt-get install wordnet-base`: /usr/share/wordnet/data.{noun,verb,adj,adv}).
 * Licence: the WordNet 3.0 licence (permissive; its notice must accompany every copy, see NOTICE).
 *
 * One document per synset: `fox, dog fox (noun): the gloss's definitions. Example: a usage example.`
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CorpusDocument, CorpusSource, SourceDescription } from '../types.ts';

export const DEFAULT_WORDNET_DIR = '/usr/share/wordnet';

const FILES = [
  ['data.noun', 'noun'],
  ['data.verb', 'verb'],
  ['data.adj', 'adjective'],
  ['data.adv', 'adverb'],
] as const;

const NOTICE = `WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.

Permission to use, copy, modify and distribute this software and database and its documentation
for any purpose and without fee or royalty is hereby granted, provided that you agree to comply with
the following copyright notice and statements, including the disclaimer, and that the same appear
on ALL copies of the software, database and documentation, including modifications that you make
for internal use or for distribution.

THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR
WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO
REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE
USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS,
COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS.

The name of Princeton University or Princeton may not be used in advertising or publicity
pertaining to distribution of the software and/or database. Title to copyright in this software,
database and any associated documentation shall at all times remain with Princeton University and
LICENSEE agrees to preserve same.`;

export interface WordnetSynset {
  readonly offset: string;
  readonly pos: string;
  readonly words: readonly string[];
  readonly definitions: readonly string[];
  readonly examples: readonly string[];
}

/**
 * One line of a WordNet data file (wndb(5WN)): `offset lex_filenum ss_type w_cnt word lex_id ...
 * p_cnt pointers... [frames] | gloss`. Returns undefined for the licence header (lines starting
 * with two spaces). Words lose their underscores and adjective markers ("(a)", "(p)", "(ip)").
 */
export function parseWordnetLine(line: string, pos: string): WordnetSynset | undefined {
  if (line.startsWith('  ') || line.trim() === '') return undefined;
  const bar = line.indexOf(' | ');
  if (bar < 0) throw new Error(`wordnet: no gloss in line '${line.slice(0, 60)}...'`);
  const fields = line.slice(0, bar).split(' ');
  const count = parseInt(fields[3]!, 16);
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    words.push(fields[4 + 2 * i]!.replace(/\((?:a|p|ip)\)$/, '').replaceAll('_', ' '));
  }
  const { definitions, examples } = parseGloss(line.slice(bar + 3).trim());
  return { offset: fields[0]!, pos, words, definitions, examples };
}

/** A gloss is definitions and quoted examples separated by semicolons; examples may carry "- Author". */
export function parseGloss(gloss: string): { definitions: string[]; examples: string[] } {
  const examples = [...gloss.matchAll(/"([^"]+)"/g)].map((match) => match[1]!.trim());
  const definitions = gloss
    .replace(/"[^"]*"(?:\s*-+\s*[^;"]*)?/g, '')
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  return { definitions, examples };
}

/** The document text of a synset; undefined when it has no definition. */
export function synsetText(synset: WordnetSynset): string | undefined {
  if (synset.definitions.length === 0) return undefined;
  const sentence = (text: string): string => (/[.!?]$/.test(text) ? text : `${text}.`);
  const parts = [`${synset.words.join(', ')} (${synset.pos}): ${sentence(synset.definitions.join('; '))}`];
  for (const example of synset.examples) parts.push(`Example: ${sentence(example)}`);
  return parts.join(' ');
}

export function wordnetSource(dir: string = DEFAULT_WORDNET_DIR): CorpusSource {
  return {
    name: 'wordnet',
    async describe(): Promise<SourceDescription> {
      return {
        name: 'wordnet',
        origin: `Debian wordnet-base (${dir})`,
        version: '3.0',
        licence: 'WordNet 3.0 licence (permissive, notice required)',
        notice: NOTICE,
      };
    },
    async *documents(): AsyncIterable<CorpusDocument> {
      for (const [file, pos] of FILES) {
        let content: string;
        try {
          content = await readFile(join(dir, file), 'latin1');
        } catch (error) {
          throw new Error(
            `wordnet: cannot read ${join(dir, file)}; install Debian's wordnet-base (apt-get install wordnet-base) or pass --wordnet DIR`,
            { cause: error },
          );
        }
        for (const line of content.split('\n')) {
          const synset = parseWordnetLine(line, pos);
          const text = synset && synsetText(synset);
          if (text) yield { source: 'wordnet', id: `${pos}:${synset.offset}`, text };
        }
      }
    },
  };
}
