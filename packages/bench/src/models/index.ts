export { smallCnn, mlp, type SmallCnnArgs, type MlpArgs } from './small';
export { resnet, type ResNetArgs } from './resnet';
export { vgg, type VggArgs } from './vgg';
export { mobileNetV2, type MobileNetV2Args } from './mobilenet';
export {
  normalize,
  useConvBias,
  convNormRelu,
  classifier,
  heInit,
  glorotInit,
  resolveArgs,
  countParams,
  NORMS,
  type Norm,
  type NormSite,
  type ModelArgs,
} from './common';
