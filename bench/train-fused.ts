// The char-LSTM workload on src/runtime/rnn (what the char-RNN trainer uses).
import { tf } from '../src/runtime/backend.js';
import { createRecurrentWeights, stackedRecurrent } from '../src/runtime/rnn/index.js';

export interface CharModel {
  /** ids and targets are batch-major [B, T] int32, as the tf.layers baseline takes them. */
  step(ids: tf.Tensor2D, targets: tf.Tensor2D): void;
  dispose(): void;
}

export function fusedCharModel(o: { layers: number; vocab: number; hidden: number }): CharModel {
  const layers = Array.from({ length: o.layers }, (_, l) => createRecurrentWeights('lstm', l === 0 ? o.vocab : o.hidden, o.hidden, { seed: 10 * l + 1, name: `bench_lstm${l}` }));
  const outW = tf.variable(tf.randomUniform([o.hidden, o.vocab], -0.1, 0.1, 'float32', 99), true, 'bench_out_w');
  const outB = tf.variable(tf.zeros([o.vocab]), true, 'bench_out_b');
  const opt = tf.train.adam(2e-3);
  return {
    step(ids, targets) {
      const loss = opt.minimize(() => {
        // Time-major: the recurrent ops want [T, B]; transposing int ids is cheap.
        const idsTB = tf.transpose(ids) as tf.Tensor2D;
        const tgtTB = tf.transpose(targets);
        const { y } = stackedRecurrent('lstm', idsTB, layers);
        const [T, B, H] = y.shape;
        const logits = tf.fused.matMul({ a: tf.reshape(y, [T * B, H]), b: outW, bias: outB });
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(tgtTB, [T * B]), o.vocab), logits);
      }, true);
      loss?.dataSync();
      loss?.dispose();
    },
    dispose() {
      opt.dispose();
      tf.dispose([outW, outB, ...layers.flatMap((l) => [l.kernel, l.recurrentKernel, l.bias])]);
    },
  };
}
