export { EmaTeacher, emaTeacher, type EmaTeacherArgs, type EmaMode } from './teacher';
export { emanHook, EmaTeacherCallback, emaTeacherCallback, type EmanHook } from './hook';
export { fixMatchLoss, type FixMatchLossArgs } from './fixmatch';
