export { lawn, LawnOptimizer } from './optimizer';
export { lawnHook, LawnHook, type LawnArgs, type LawnConfig, type FrozenNorm, type LawnPhase } from './hook';
export { weightNorms, projectToTangent, retractToNorm, type Granularity } from './norms';
export { registerLawnSerializables } from './register';
