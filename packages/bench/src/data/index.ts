export { type Split, take, balancedSubset, balancedIndices, trainValSplit, splitLabeled, classCounts, indicesByClass, exampleSize } from './split';
export { readIdx, parseIdx, readIdxPair, readMaybeGzip, encodeIdx, type IdxArray } from './idx';
export { loadFashionMnist, loadFashionMnistCached, findFashionMnist, embeddedFashionDir, DEBIAN_FASHION_DIR, FASHION_CLASSES, type FashionMnistArgs, type FashionSource } from './fashion';
export { loadCifar, parseCifarBinary, type CifarArgs } from './cifar';
export { batches, batchCount, type Batch, type BatchOptions } from './batches';
export { randomCrop, horizontalFlip, cutout, gaussianNoise, compose, weakStrong, isPairAugment, type Augment, type PairAugment } from './augment';
export { syntheticSplit } from './synthetic';
