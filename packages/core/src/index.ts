export { TrainkitError, invalidArgument, checkNumber, describeValue, type TrainkitErrorCode } from './errors';
export {
  assertLive,
  checkTensor,
  gradientOf,
  checkBoolean,
  checkHookName,
  disposeOnThrow,
  isTensorLike,
  sameShape,
  type TensorCheck,
} from './checks';
export { rng, deriveSeed, checkSeed, type Rng } from './random';
export {
  constantSchedule,
  cosineSchedule,
  stepDecaySchedule,
  linearWarmup,
  piecewiseSchedule,
  scheduleFromConfig,
  toSchedule,
  isSchedule,
  type Schedule,
  type ScheduleConfig,
} from './schedule';
export {
  paramsOf,
  isParamRef,
  type ParamRef,
  type ParamFilter,
  type LayerKind,
  type ParamRole,
  type LayersModelLike,
  type LayerLike,
} from './params';
export { toVariables, isVariable, type ParamsArg } from './variables';
export { canReadSync, readBack } from './readback';
export {
  HookedOptimizer,
  withHooks,
  registerCoreSerializables,
  optimizerFromConfig,
  mapGradients,
  type StepHook,
  type StepContext,
  type NamedTensor,
} from './hooks';
