// exp, sigmoid and tanh for the fused cell kernels. V8's Math.tanh costs ~40 ns and Math.exp
// ~18 ns here, which made the transcendental functions the bulk of a fused LSTM step; this exp
// (range reduction to |r| ≤ ln2/2, degree-7 Taylor polynomial, table of 2^n) is a few ns and
// accurate to ~1e-8 relative, well below float32 resolution.
const POW2 = new Float64Array(256);
for (let n = -128; n < 128; n++) POW2[n + 128] = 2 ** n;

const LOG2E = 1.4426950408889634;
const LN2 = 0.6931471805599453;

export function fastExp(x: number): number {
  // Clamp so 2^n stays inside the table; exp(±87) already over/underflows float32.
  if (x > 87) x = 87;
  else if (x < -87) x = -87;
  const n = Math.round(x * LOG2E);
  const r = x - n * LN2;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040)))))));
  return p * POW2[n + 128];
}

export function fastSigmoid(x: number): number {
  return 1 / (1 + fastExp(-x));
}

export function fastTanh(x: number): number {
  // Through e^{−2|x|} ≤ 1: no overflow, and 1 − t keeps full relative precision near ±1.
  const t = fastExp(-2 * Math.abs(x));
  const y = (1 - t) / (1 + t);
  return x < 0 ? -y : y;
}
