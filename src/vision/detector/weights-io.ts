// Saving and loading tfjs models on disk without tfjs-node: model.json (topology + weights manifest) and one
// weights.bin, the same files tf.io's browser/http handlers use, so the folder also loads with tf.loadLayersModel
// over HTTP.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../runtime/atomic-write.js';
import { tf } from '../../runtime/backend.js';

export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

function concatWeightData(d: tf.io.WeightData | undefined): ArrayBuffer {
  if (!d) return new ArrayBuffer(0);
  if (Array.isArray(d)) {
    const total = d.reduce((a, b) => a + b.byteLength, 0);
    const out = new Uint8Array(total);
    let o = 0;
    for (const b of d) {
      out.set(new Uint8Array(b), o);
      o += b.byteLength;
    }
    return out.buffer;
  }
  return d as ArrayBuffer;
}

export function diskSaver(dir: string, weightsName = 'weights.bin'): tf.io.IOHandler {
  return {
    save: async (a: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      await mkdir(dir, { recursive: true });
      const data = new Uint8Array(concatWeightData(a.weightData));
      await writeFileAtomic(join(dir, weightsName), data);
      const json = {
        format: a.format ?? 'layers-model',
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy ?? null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: [weightsName], weights: a.weightSpecs ?? [] }],
      };
      await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: data.byteLength } };
    },
  };
}

export function diskLoader(dir: string): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
        modelTopology: object;
        format?: string;
        weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
      };
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(await readFile(join(dir, p)));
      }
      const total = buffers.reduce((a, b) => a + b.byteLength, 0);
      const data = new Uint8Array(total);
      let o = 0;
      for (const b of buffers) {
        data.set(b, o);
        o += b.byteLength;
      }
      return { modelTopology: json.modelTopology, format: json.format, weightSpecs: specs, weightData: data.buffer };
    },
  };
}

/** Named tensors (e.g. optimizer state) to one binary file plus a JSON spec. */
export async function saveTensors(path: string, named: NamedTensor[]): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(named);
  await writeFileAtomic(`${path}.bin`, new Uint8Array(concatWeightData(data)));
  await writeFileAtomic(`${path}.json`, JSON.stringify(specs));
}

export async function loadTensors(path: string): Promise<NamedTensor[]> {
  const specs = JSON.parse(await readFile(`${path}.json`, 'utf8')) as tf.io.WeightsManifestEntry[];
  const buf = await readFile(`${path}.bin`);
  const map = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
}
