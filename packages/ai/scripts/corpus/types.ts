/** One document of the pretraining corpus: a line of the output files once normalised. */
export interface CorpusDocument {
  /** Which source it came from ('sotu', 'wordnet'). */
  readonly source: string;
  /** Stable id within the source (file name, synset offset), for the manifest and for debugging. */
  readonly id: string;
  readonly text: string;
}

/** A source turns an installed package into documents; `describe` goes into the manifest. */
export interface CorpusSource {
  readonly name: string;
  /** Where the text comes from, its licence, and the package version that was read. */
  describe(): Promise<SourceDescription>;
  documents(): AsyncIterable<CorpusDocument>;
}

export interface SourceDescription {
  readonly name: string;
  readonly origin: string;
  readonly version: string;
  readonly licence: string;
  /** Text that must travel with every copy of the prepared corpus (licence notices). */
  readonly notice: string;
}
