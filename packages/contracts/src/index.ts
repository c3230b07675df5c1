export { loadAllArtifacts, loadArtifact, loadBuild, type Build, type LoadOptions } from './artifacts.ts';
export { compileSolidity, type CompileResult, type SourceMap } from './compile.ts';
export { SolidityCompileError } from './errors.ts';
export { defaultArtifactsDir, defaultSourcesDir } from './paths.ts';
export type { CompileOptions } from './settings.ts';
export type { Abi, Artifact, Diagnostic, Hex } from './types.ts';
export {
  GENESIS_DEPLOYER,
  GOVERNANCE_DEFAULTS,
  PREDEPLOYS,
  SYSTEM_ADDRESS,
  predeploySteps,
  type GenesisValidator,
  type PredeployName,
  type PredeployStep,
  type ProtocolGenesisOptions,
} from './predeploys.ts';
