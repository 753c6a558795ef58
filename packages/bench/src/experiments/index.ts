import type { ExperimentDefinition, ProfileSettings } from '../experiment';
import baseline from './baseline';
import prune from './prune';
import afan from './afan';
import eman from './eman';
import lawn from './lawn';
import mimicnorm from './mimicnorm';
import unify from './unify';
import { withGpuProfile } from './gpu';
import { withPaperProfile } from './paper';

// Every experiment, in the order `list` shows them. Each method adds one import and one entry.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const experiments: ExperimentDefinition<any>[] = ([baseline, afan, eman, lawn, mimicnorm, prune, unify] as ExperimentDefinition<any>[]).map((e) => withPaperProfile(withGpuProfile(e)));

export type { ExperimentDefinition, ProfileSettings };
