/**
 * Fused recurrent sequence ops (LSTM, GRU, vanilla RNN) with a hand-written backward pass.
 *
 * Everything is TIME-MAJOR: sequences are [T, B, features], token ids [T, B]. (Each time step is
 * then a contiguous [B, ·] block, and all steps stack into one [T·B, ·] matrix for the GEMMs.)
 *
 *   import { createRecurrentWeights, stackedRecurrent, recurrence, zeroState } from '../runtime/rnn/index.js';
 *
 *   const layers = [createRecurrentWeights('lstm', vocab, 256, { name: 'lstm0' }),   // ids → one-hot
 *                   createRecurrentWeights('lstm', 256, 256, { name: 'lstm1' })];
 *   const { y, states } = stackedRecurrent('lstm', idsTB, layers, prevStates);        // y [T, B, 256]
 *   // carry `states` into the next chunk (tf.keep them / dispose the old ones yourself);
 *   // gradients do not flow across calls unless you pass states that are part of the graph.
 *
 * API
 * - recurrence(cell, xp [T,B,G·H], recurrentKernel [H,G·H], init?) → { y [T,B,H], state }
 *     The recurrence alone over a precomputed input projection xp = x·W + b; gradients flow to
 *     xp, recurrentKernel and init.h / init.c. One tf.customGrad op: the forward keeps the gates,
 *     the backward is manual backprop through time whose only per-step GEMM is dhu·Uᵀ; the
 *     recurrent-weight gradient is one GEMM over all steps, [h_0 … h_{T−1}]ᵀ · [dhu_1 … dhu_T].
 * - recurrentLayer(cell, x [T,B,I], weights, init?)         input projection as one GEMM + recurrence
 * - recurrentLayerFromIds(cell, ids [T,B] int32, weights, init?)   one-hot input: the projection is a
 *     row gather of kernel [vocab, G·H] (its gradient a segment sum, available on wasm)
 * - stackedRecurrent(cell, x | ids, weights[], init?[]) → { y (top layer), states (per layer) }
 * - createRecurrentWeights(cell, inputSize, hidden, { seed?, name? }) → trainable tf.Variables
 *     { kernel [I, G·H], recurrentKernel [H, G·H], bias [G·H] } (LSTM forget bias 1)
 * - zeroState(cell, batch, hidden)
 *
 * Cells and gate order (G blocks of H along the last axis): lstm i,f,g,o (G = 4, state h and c);
 * gru z,r,n with the reset applied after the recurrent product (G = 3):
 * n = tanh(xn + r ⊙ (h·Un)), h' = (1 − z) ⊙ n + z ⊙ h; rnn: h' = tanh(xp + h·U) (G = 1).
 *
 * Call inside tf.tidy (as with any tfjs ops): the forward keeps per-step tensors for the
 * backward pass. Works on every backend; on wasm the matMuls it issues run on XNNPACK through
 * src/runtime/kernels (transposed products included).
 */
export { GATES, OP_CELLS, type CellType } from './cells.js';
export { cellFor, registerFusedCellKernels, setFusedCells } from './fused-cells.js';
export {
  createRecurrentWeights,
  recurrence,
  recurrentLayer,
  recurrentLayerFromIds,
  stackedRecurrent,
  zeroState,
  type RecurrentState,
  type RecurrentWeights,
  type SequenceOut,
  type StackOut,
  type WeightOptions,
} from './sequence.js';
