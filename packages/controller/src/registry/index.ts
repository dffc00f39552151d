export type { ListReleasesOptions, RegistryWriteOptions } from './registry.js';
export {
  createRelease,
  currentStableRelease,
  listReleases,
  markRelease,
  releaseConfigReader,
  resolveReleaseOptions,
  showRelease,
} from './registry.js';
export type {
  ModelParameterValue,
  PromptReference,
  ReleaseConfiguration,
  ReleaseOptions,
  ReleaseRecord,
  ReleaseStatus,
  ReleaseStatusChange,
  StoredRelease,
} from './types.js';
export { RELEASE_STATUS } from './types.js';
