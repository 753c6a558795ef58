export { type Split, take, balancedSubset, balancedIndices, trainValSplit, splitLabeled, classCounts, indicesByClass, exampleSize } from './split';
export { readIdx, parseIdx, readIdxPair, readMaybeGzip, encodeIdx, type IdxArray } from './idx';
export { loadFashionMnist, loadFashionMnistCached, fashionIdentity, findFashionMnist, embeddedFashionDir, DEBIAN_FASHION_DIR, FASHION_CLASSES, type FashionMnistArgs, type FashionSource } from './fashion';
export { loadCifar, cifarIdentity, parseCifarBinary, type CifarArgs } from './cifar';
export { batches, batchCount, type Batch, type BatchOptions } from './batches';
export { randomCrop, horizontalFlip, cutout, gaussianNoise, compose, weakStrong, isPairAugment, type Augment, type PairAugment } from './augment';
export { syntheticSplit } from './synthetic';
export { fileIdentity, dataKey, describeData, recordDataUse, noteDataUse, type FileIdentity, type DataIdentity, type DataRequest } from './identity';
export { resolveDataIdentity } from './resolve';
