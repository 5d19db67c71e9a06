// Which code builds a model from its folder: keyed by `${kind}/${config.architecture ?? 'kestrel'}`.
// Loaders import lazily so a service without, say, text models never loads the text code.
import type { Manifest } from './manifest.js';
import type { ModelLoader } from './models.js';

const LOADERS: Record<string, () => Promise<ModelLoader>> = {
  // Each model family adds its own line here.
  'detector/faceapi': async () => (await import('../vision/faces/loader.js')).loadFaceDetector,
  'detector/kestrel': async () => (await import('../vision/detector/loader.js')).loadKestrelDetector,
  'detector/nanodet': async () => (await import('../vision/nanodet/loader.js')).loadNanoDet,
  'forecaster/kestrel': async () => (await import('../sequence/forecaster.js')).loadForecaster,
  'char-rnn/kestrel': async () => (await import('../text/char-rnn-model.js')).loadCharRnn,
};

export function loaderKey(m: Manifest): string {
  const arch = typeof m.config['architecture'] === 'string' ? m.config['architecture'] : 'kestrel';
  return `${m.kind}/${arch}`;
}

export async function loaderFor(m: Manifest): Promise<ModelLoader> {
  const get = LOADERS[loaderKey(m)];
  if (!get) throw new Error(`no loader for ${loaderKey(m)} (known: ${Object.keys(LOADERS).join(', ') || 'none'})`);
  return get();
}
