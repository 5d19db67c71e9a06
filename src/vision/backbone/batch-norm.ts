// Batch normalisation written with broadcasting ops. tfjs's FusedBatchNorm gradient tiles the inverse
// standard deviation to the full activation shape (a Tile kernel that took ~15 % of a wasm training step);
// the same maths through broadcasting reductions avoids it. Weights and their order match
// tf.layers.batchNormalization (gamma, beta, moving_mean, moving_variance).
import { tf } from '../../runtime/backend.js';

export class FastBatchNorm extends tf.layers.Layer {
  static readonly className = 'KestrelBatchNorm';
  private readonly momentum: number;
  private readonly epsilon: number;
  private gamma?: tf.LayerVariable;
  private beta?: tf.LayerVariable;
  private movingMean?: tf.LayerVariable;
  private movingVariance?: tf.LayerVariable;

  constructor(args: { momentum?: number; epsilon?: number; name?: string }) {
    super({ name: args.name });
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = s[s.length - 1] as number;
    this.gamma = this.addWeight('gamma', [c], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [c], 'float32', tf.initializers.zeros());
    this.movingMean = this.addWeight('moving_mean', [c], 'float32', tf.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight('moving_variance', [c], 'float32', tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const gamma = this.gamma!.read(), beta = this.beta!.read();
    if (!kwargs['training']) {
      return tf.tidy(() => {
        const scale = tf.mul(gamma, tf.rsqrt(tf.add(this.movingVariance!.read(), this.epsilon)));
        return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(this.movingMean!.read(), scale)));
      });
    }
    const axes = [...Array(x.rank - 1).keys()];
    const { mean, variance } = tf.moments(x, axes);
    const m = this.momentum;
    // Moving statistics are state, not parameters: update them from values cut off from the tape.
    const mNew = tf.tidy(() => tf.add(tf.mul(this.movingMean!.read(), m), tf.mul(tf.clone(mean), 1 - m)));
    const vNew = tf.tidy(() => tf.add(tf.mul(this.movingVariance!.read(), m), tf.mul(tf.clone(variance), 1 - m)));
    this.movingMean!.write(mNew);
    this.movingVariance!.write(vNew);
    tf.dispose([mNew, vNew]);
    const inv = tf.rsqrt(tf.add(variance, this.epsilon));
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), inv), gamma), beta);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon };
  }
}

tf.serialization.registerClass(FastBatchNorm);
