export { main } from './main';
export { loadProfiles, ProfileDirectoryError } from './ProfileSet';
export type { LoadedProfile, LoadResult, ProfileFilter } from './ProfileSet';
export { collapsed, hotspots, inScope, rank } from './analysis';
export type { Cost, EndpointCost, Frame, FunctionCost, Hotspots, Ranking, Scope, SpanCost, TraceCost } from './analysis';
