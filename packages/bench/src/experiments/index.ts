import type { ExperimentDefinition, ProfileSettings } from '../experiment';
import afan from './afan';
import eman from './eman';
import mimicnorm from './mimicnorm';

// Every experiment, in the order `list` shows them. Each method adds one import and one entry.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const experiments: ExperimentDefinition<any>[] = [afan, eman, mimicnorm];

export type { ExperimentDefinition, ProfileSettings };
