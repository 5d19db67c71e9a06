// Fused per-step cell kernels: one kernel call per step and direction instead of ~10–20 small
// tfjs ops (each op costs more in dispatch than its arithmetic at [32, 256]). Registered for the
// wasm backend (reading its heap in place) and the cpu backend; elsewhere the plain-op cells run.
import { tf } from '../backend.js';
import { OP_CELLS, type Cell, type CellType } from './cells.js';
import { fastSigmoid as sigmoid, fastTanh as tanh } from './fast-math.js';

type TensorInfo = tf.TensorInfo;

interface Io {
  read(t: TensorInfo): Float32Array;
  /** Allocates outputs first, then returns their views (a wasm allocation can move the heap). */
  alloc(shapes: number[][]): { infos: TensorInfo[]; views: () => Float32Array[] };
}

function ioFor(backend: unknown): Io {
  const b = backend as {
    typedArrayFromHeap?: (t: TensorInfo) => Float32Array;
    makeOutput?: (s: number[], d: string) => TensorInfo;
    data?: { get(id: object): { values: Float32Array } };
    makeTensorInfo?: (s: number[], d: string, v: Float32Array) => TensorInfo;
  };
  if (b.typedArrayFromHeap && b.makeOutput) {
    return {
      read: (t) => b.typedArrayFromHeap!(t),
      alloc(shapes) {
        const infos = shapes.map((s) => b.makeOutput!(s, 'float32'));
        return { infos, views: () => infos.map((i) => b.typedArrayFromHeap!(i)) };
      },
    };
  }
  if (b.data && b.makeTensorInfo) {
    return {
      read: (t) => b.data!.get(t.dataId).values,
      alloc(shapes) {
        const arrays = shapes.map((s) => new Float32Array(s.reduce((p, d) => p * d, 1)));
        const infos = shapes.map((s, i) => b.makeTensorInfo!(s, 'float32', arrays[i]));
        return { infos, views: () => arrays };
      },
    };
  }
  throw new Error('fused cell kernels: unsupported backend');
}


type Fn = (io: Io, ins: TensorInfo[]) => TensorInfo[];

const KERNELS: Record<string, Fn> = {
  // (s = σ(z), tz = tanh(z_g), cPrev) → (c, tanh c, h), z = xp + h·U = [i f g o] pre-activations.
  // The backend's vectorised Sigmoid/Tanh do the transcendental work (cheaper than scalar JS).
  KestrelLstmCell(io, [sI, tzI, cpI]) {
    const [B, G] = sI.shape;
    const H = G / 4;
    const { infos, views } = io.alloc([[B, H], [B, H], [B, H]]);
    const [c, tc, h] = views();
    const sg = io.read(sI);
    const tz = io.read(tzI);
    const cp = io.read(cpI);
    for (let b = 0; b < B; b++) {
      const r = b * G;
      const s = b * H;
      for (let j = 0; j < H; j++) {
        const cv = sg[r + H + j] * cp[s + j] + sg[r + j] * tz[s + j];
        const t = tanh(cv);
        c[s + j] = cv;
        tc[s + j] = t;
        h[s + j] = sg[r + 3 * H + j] * t;
      }
    }
    return infos;
  },
  // (dy, dhNext, dc, s, tanh z_g, tanh c, cPrev) → (dz, dcPrev): pure arithmetic.
  KestrelLstmCellGrad(io, [dyI, dhnI, dcI, sI, tzI, tcI, cpI]) {
    const [B, G] = sI.shape;
    const H = G / 4;
    const { infos, views } = io.alloc([[B, G], [B, H]]);
    const [dz, dcp] = views();
    const dy = io.read(dyI);
    const dhn = io.read(dhnI);
    const dcIn = io.read(dcI);
    const sg = io.read(sI);
    const tz = io.read(tzI);
    const tcs = io.read(tcI);
    const cp = io.read(cpI);
    for (let b = 0; b < B; b++) {
      const r = b * G;
      const s = b * H;
      for (let j = 0; j < H; j++) {
        const i = sg[r + j];
        const f = sg[r + H + j];
        const g = tz[s + j];
        const o = sg[r + 3 * H + j];
        const dh = dy[s + j] + dhn[s + j];
        const tc = tcs[s + j];
        const dc = dcIn[s + j] + dh * o * (1 - tc * tc);
        dz[r + j] = dc * g * i * (1 - i);
        dz[r + H + j] = dc * cp[s + j] * f * (1 - f);
        dz[r + 2 * H + j] = dc * i * (1 - g * g);
        dz[r + 3 * H + j] = dh * tc * o * (1 - o);
        dcp[s + j] = dc * f;
      }
    }
    return infos;
  },
  // (xp, hu, hPrev) → (act = [σz, σr, tanh n], h)
  KestrelGruCell(io, [xpI, huI, hpI]) {
    const [B, G] = xpI.shape;
    const H = G / 3;
    const { infos, views } = io.alloc([[B, G], [B, H]]);
    const [act, h] = views();
    const xp = io.read(xpI);
    const hu = io.read(huI);
    const hp = io.read(hpI);
    for (let b = 0; b < B; b++) {
      const r = b * G;
      const s = b * H;
      for (let j = 0; j < H; j++) {
        const z = sigmoid(xp[r + j] + hu[r + j]);
        const rr = sigmoid(xp[r + H + j] + hu[r + H + j]);
        const n = tanh(xp[r + 2 * H + j] + rr * hu[r + 2 * H + j]);
        act[r + j] = z;
        act[r + H + j] = rr;
        act[r + 2 * H + j] = n;
        h[s + j] = n + z * (hp[s + j] - n);
      }
    }
    return infos;
  },
  // (dy, dhNext, act, hu, hPrev) → (dxp, dhu, dhDirect)
  KestrelGruCellGrad(io, [dyI, dhnI, actI, huI, hpI]) {
    const [B, G] = actI.shape;
    const H = G / 3;
    const { infos, views } = io.alloc([[B, G], [B, G], [B, H]]);
    const [dxp, dhu, dhd] = views();
    const dy = io.read(dyI);
    const dhn = io.read(dhnI);
    const act = io.read(actI);
    const hu = io.read(huI);
    const hp = io.read(hpI);
    for (let b = 0; b < B; b++) {
      const r = b * G;
      const s = b * H;
      for (let j = 0; j < H; j++) {
        const z = act[r + j];
        const rr = act[r + H + j];
        const n = act[r + 2 * H + j];
        const dh = dy[s + j] + dhn[s + j];
        const dan = dh * (1 - z) * (1 - n * n);
        const daz = dh * (hp[s + j] - n) * z * (1 - z);
        const dar = dan * hu[r + 2 * H + j] * rr * (1 - rr);
        dxp[r + j] = daz;
        dxp[r + H + j] = dar;
        dxp[r + 2 * H + j] = dan;
        dhu[r + j] = daz;
        dhu[r + H + j] = dar;
        dhu[r + 2 * H + j] = dan * rr;
        dhd[s + j] = dh * z;
      }
    }
    return infos;
  },
  // (xp, hu) → (h)
  KestrelRnnCell(io, [xpI, huI]) {
    const { infos, views } = io.alloc([xpI.shape]);
    const [h] = views();
    const xp = io.read(xpI);
    const hu = io.read(huI);
    for (let k = 0; k < h.length; k++) h[k] = tanh(xp[k] + hu[k]);
    return infos;
  },
  // (dy, dhNext, h) → (da)
  KestrelRnnCellGrad(io, [dyI, dhnI, hI]) {
    const { infos, views } = io.alloc([hI.shape]);
    const [da] = views();
    const dy = io.read(dyI);
    const dhn = io.read(dhnI);
    const h = io.read(hI);
    for (let k = 0; k < da.length; k++) da[k] = (dy[k] + dhn[k]) * (1 - h[k] * h[k]);
    return infos;
  },
};

const BACKENDS = ['wasm', 'cpu'];

/** Registers the fused cell kernels for wasm and cpu (idempotent). */
export function registerFusedCellKernels(): void {
  for (const [name, fn] of Object.entries(KERNELS)) {
    for (const backendName of BACKENDS) {
      if (tf.getKernel(name, backendName)) continue;
      tf.registerKernel({
        kernelName: name,
        backendName,
        kernelFunc: ({ inputs, backend }) => {
          const ins = Object.keys(inputs)
            .sort((a, b) => Number(a) - Number(b))
            .map((k) => inputs[k] as TensorInfo);
          return fn(ioFor(backend), ins);
        },
      });
    }
  }
}

const run = (name: string, ins: tf.Tensor[]): tf.Tensor2D[] => {
  const named: tf.NamedTensorMap = {};
  ins.forEach((t, i) => (named[i] = t));
  return tf.engine().runKernel(name, named, {}) as unknown as tf.Tensor2D[];
};

function zerosLikeOr(t: tf.Tensor2D | undefined, like: tf.Tensor2D): tf.Tensor2D {
  return t ?? (tf.zerosLike(like) as tf.Tensor2D);
}

const fusedLstm: Cell = {
  forward(xp, hu, _hPrev, cPrev) {
    const z = tf.add(xp, hu);
    const s = tf.sigmoid(z) as tf.Tensor2D;
    // tanh of the g block only: slicing it out costs less than a tanh over all four blocks.
    const zg = tf.slice(z, [0, xp.shape[1] / 2], [-1, xp.shape[1] / 4]);
    const tz = tf.tanh(zg) as tf.Tensor2D;
    zg.dispose();
    z.dispose();
    const [c, tc, h] = run('KestrelLstmCell', [s, tz, cPrev!]);
    return { h, c, saved: [s, tz, tc] };
  },
  backward(dy, dhNext, dc, saved, _hPrev, cPrev) {
    const [s, tz, tc] = saved;
    const [dz, dcPrev] = run('KestrelLstmCellGrad', [dy, zerosLikeOr(dhNext, dy), dc!, s, tz, tc, cPrev!]);
    return { dxp: dz, dhu: dz, dcPrev };
  },
};

const fusedGru: Cell = {
  forward(xp, hu, hPrev) {
    const [act, h] = run('KestrelGruCell', [xp, hu, hPrev]);
    return { h, saved: [act, hu] };
  },
  backward(dy, dhNext, _dc, saved, hPrev) {
    const [act, hu] = saved;
    const [dxp, dhu, dhDirect] = run('KestrelGruCellGrad', [dy, zerosLikeOr(dhNext, dy), act, hu, hPrev]);
    return { dxp, dhu, dhDirect };
  },
};

const fusedRnn: Cell = {
  forward(xp, hu) {
    const [h] = run('KestrelRnnCell', [xp, hu]);
    return { h, saved: [h] };
  },
  backward(dy, dhNext, _dc, saved) {
    const [da] = run('KestrelRnnCellGrad', [dy, zerosLikeOr(dhNext, dy), saved[0]]);
    return { dxp: da, dhu: da };
  },
};

const FUSED: Record<CellType, Cell> = { lstm: fusedLstm, gru: fusedGru, rnn: fusedRnn };

let useFused = true;

/** Turns the fused kernels off (true: use them where registered). For tests and measurements. */
export function setFusedCells(on: boolean): void {
  useFused = on;
}

/** The cell implementation for the current backend. */
export function cellFor(cell: CellType): Cell & { hu: 'dispose' | 'keep' } {
  registerFusedCellKernels();
  const name = { lstm: 'KestrelLstmCell', gru: 'KestrelGruCell', rnn: 'KestrelRnnCell' }[cell];
  if (useFused && tf.getKernel(name, tf.getBackend())) {
    return { ...FUSED[cell], hu: cell === 'gru' ? 'keep' : 'dispose' };
  }
  return { ...OP_CELLS[cell], hu: 'dispose' };
}
