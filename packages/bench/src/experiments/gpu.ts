/**
 * The `gpu` profile of every experiment: its `standard` settings with the paper's model family (ResNet-20: depth 20,
 * width 16; full-width VGG-11; wider CNNs) and 3 seeds, shortened to about 10 GPU-minutes per experiment. Kept in one
 * table, applied by {@link withGpuProfile}, so the experiment files stay as they are. Sizes are estimates: no run of
 * this profile has been timed on a GPU yet (see the bench README). Train/test sizes stay within the embedded subset
 * (10k/2k), so the device bundle can run the profile without the full data set; with the full set on disk
 * (`--data`, `TRAINKIT_DATA` or the Debian package) the subset is drawn from it. The experiments whose models follow
 * the data's shape (afan, mimicnorm, prune, unify) train on CIFAR-10 instead (`dataset: 'auto'`) when `--data` holds
 * its binaries, with the same sizes and no augmentation; baseline, eman and lawn stay on Fashion-MNIST (their models
 * and accuracy floors are Fashion-MNIST's).
 */
import type { ExperimentDefinition, ProfileSettings } from '../experiment';
import type { AfanSettings } from './afan';
import type { BaselineSettings } from './baseline';
import type { EmanSettings } from './eman';
import type { LawnSettings } from './lawn';
import type { MimicNormSettings } from './mimicnorm';
import type { UnifySettings } from './unify';

const RESNET20 = { resnetDepth: 20, resnetWidth: 16 } as const;
const AUTO = { dataset: 'auto' } as const;

/** Overrides of each experiment's `standard` settings (type-checked where the experiment exports its settings). */
export const GPU_OVERRIDES: {
  baseline: Partial<BaselineSettings>;
  afan: Partial<AfanSettings>;
  eman: Partial<EmanSettings>;
  lawn: Partial<LawnSettings>;
  mimicnorm: Partial<MimicNormSettings>;
  prune: Record<string, unknown>;
  unify: Partial<UnifySettings>;
} = {
  baseline: { trainSize: 10_000, testSize: 2000, epochs: 10, batchSize: 128, lr: 1e-3, minAcc: 0.85 },
  // ResNet-20 with K = 5 attack steps (the reference's CIFAR setting): each step costs ~6 forward/backward passes.
  afan: { ...RESNET20, ...AUTO, trainSize: 6000, testSize: 2000, epochs: 3, batchSize: 128, steps: 5, gapSize: 2000 },
  // The bench's EMAN runs an MLP student (no conv family in its spec's reach); the gpu profile gives it more steps.
  eman: { trainSize: 10_000, testSize: 2000, hidden: [512], steps: 2000, evalEvery: 250 },
  // Full 28x28 images, a wider CNN, and the spec's batches 128 / 4096.
  lawn: { trainSize: 10_000, testSize: 2000, imageSize: 28, epochs: 30, freeEpochs: 5, smallBatch: 128, largeBatch: 4096, filters: [32, 64], hidden: 128, probeSize: 512 },
  // ResNet-20 and full-width VGG-11 (the paper's Table 1 families).
  mimicnorm: { ...RESNET20, ...AUTO, vggWidth: 1, trainSize: 10_000, testSize: 2000, epochs: 5, batchSize: 128, microTrainSize: 1000, microEpochs: 3 },
  // ResNet-20 (the paper's Fig. 2/3/6 model), fewer sparsities than standard.
  prune: { ...RESNET20, ...AUTO, models: ['resnet'], trainSize: 10_000, testSize: 2000, epochs: 4, batchSize: 128, sparsities: [0.5, 0.8, 0.9] },
  unify: { ...RESNET20, ...AUTO, models: ['resnet'], trainSize: 10_000, testSize: 2000, batchSize: 128, denseEpochs: 4, admmEpochs: 3, fineTuneEpochs: 2 },
};

/**
 * Adds the `gpu` profile to an experiment (its `standard` settings, 3 seeds, the overrides of {@link GPU_OVERRIDES});
 * an experiment without `standard`, or one that already defines `gpu`, is returned unchanged.
 */
export function withGpuProfile<P extends ProfileSettings>(e: ExperimentDefinition<P>): ExperimentDefinition<P> {
  const standard = e.profiles.standard;
  if (!standard || e.profiles.gpu) return e;
  const overrides = (GPU_OVERRIDES as Record<string, object | undefined>)[e.id] ?? {};
  return { ...e, profiles: { ...e.profiles, gpu: { ...standard, seeds: 3, ...overrides } as P } };
}
