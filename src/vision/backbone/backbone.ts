// The shared CNN: 3×3 convolutions with batch norm and ReLU, downsampling by stride-2 convolutions, giving
// feature maps at strides 8, 16 and 32; a small top-down neck (FPN-style) then mixes the coarse maps'
// context into the fine ones so that small objects at stride 8 still see semantics from deeper layers.
import { tf } from '../../runtime/backend.js';
import { FastConv2D } from './fast-conv.js';
import { FastBatchNorm } from './batch-norm.js';

type Sym = tf.SymbolicTensor;

export function convBnRelu(x: Sym, filters: number, stride: number, name: string, kernel = 3, inputGradient = true): Sym {
  const c = new FastConv2D({ filters, kernelSize: kernel, strides: stride, useBias: false, kernelInitializer: 'heNormal', name: `${name}_conv`, inputGradient }).apply(x) as Sym;
  const b = new FastBatchNorm({ momentum: 0.97, name: `${name}_bn` }).apply(c) as Sym;
  return tf.layers.reLU({ name: `${name}_relu` }).apply(b) as Sym;
}

export interface Features {
  f8: Sym;
  f16: Sym;
  f32: Sym;
}

export function buildBackbone(input: Sym, channels: number[], neck: number): Features {
  const [c0, c1, c2, c3, c4] = channels;
  // Nothing upstream of the image trains, so the stem's input gradient would be computed only to be dropped.
  let x = convBnRelu(input, c0, 2, 'stem', 3, false); // /2
  x = convBnRelu(x, c1, 2, 'b4a'); // /4
  x = convBnRelu(x, c1, 1, 'b4b');
  x = convBnRelu(x, c2, 2, 'b8a'); // /8
  const c8 = convBnRelu(x, c2, 1, 'b8b');
  x = convBnRelu(c8, c3, 2, 'b16a'); // /16
  const c16 = convBnRelu(x, c3, 1, 'b16b');
  x = convBnRelu(c16, c4, 2, 'b32a'); // /32
  const c32 = convBnRelu(x, c4, 1, 'b32b');
  const lat = (t: Sym, name: string): Sym => new FastConv2D({ filters: neck, kernelSize: 1, name }).apply(t) as Sym;
  const up = (t: Sym, name: string): Sym => tf.layers.upSampling2d({ size: [2, 2], name }).apply(t) as Sym;
  const p32 = lat(c32, 'lat32');
  const p16 = tf.layers.add({ name: 'top16' }).apply([lat(c16, 'lat16'), up(p32, 'up32')]) as Sym;
  const p8 = tf.layers.add({ name: 'top8' }).apply([lat(c8, 'lat8'), up(p16, 'up16')]) as Sym;
  return { f8: convBnRelu(p8, neck, 1, 'f8'), f16: convBnRelu(p16, neck, 1, 'f16'), f32: convBnRelu(p32, neck, 1, 'f32') };
}
