export { EmaTeacher, emaTeacher, type EmaTeacherArgs, type EmaMode } from './teacher';
export type { AveragingArgs, WarmupArgs } from '../averaging';
export { emanHook, EmaTeacherCallback, emaTeacherCallback, type EmanHook } from './hook';
export { fixMatchLoss, type FixMatchLossArgs } from './fixmatch';
export { updateBatchNorm } from './update-bn';
