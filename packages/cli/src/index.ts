export { main } from './main';
export { DEFAULT_VIEW_PORT, ViewServer } from './ViewServer';
export type { ViewServerOptions } from './ViewServer';
// The profile model moved to @spanprof/profile; these names stay importable from here.
export { collapsed, compare, decodePprof, findSpan, flameGraph, FrameTable, hotspots, indexProfile, LabelTable, loadProfiles, ProfileDirectory, ProfileDirectoryError, rank, selectProfiles } from '@spanprof/profile';
export type {
  CompareOptions,
  Comparison,
  Cost,
  EndpointComparison,
  EndpointCost,
  FlameGraphOptions,
  FlameNode,
  Frame,
  FunctionChange,
  FunctionCost,
  Hotspots,
  IndexedProfile,
  LoadResult,
  PprofMessage,
  ProfileFilter,
  Ranking,
  RefreshResult,
  Scope,
  SideSummary,
  SpanCost,
  SpanInfo,
  TimeKind,
  TraceCost,
} from '@spanprof/profile';
