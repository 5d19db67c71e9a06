// The tfjs graph model as shipped (model.json + weights), opened from local files with tfjs's own graph
// executor. It is the reference the kestrel forward pass (network.ts) is tested against.
import { readFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { io } from '@tensorflow/tfjs-core';

interface GraphJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: object;
  modelTopology: { node: GraphNode[] };
  weightsManifest: { paths: string[]; weights: io.WeightsManifestEntry[] }[];
}

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { f?: number; i?: string; b?: boolean; s?: string; list?: { i?: string[] } }>;
}

export interface GraphArtifacts {
  topology: { node: GraphNode[] };
  artifacts: io.ModelArtifacts;
}

/** Reads model.json and its weight shards; shard paths must stay inside the model's folder. */
export async function readGraphArtifacts(jsonPath: string): Promise<GraphArtifacts> {
  const json = JSON.parse(await readFile(jsonPath, 'utf8')) as GraphJson;
  if (!json.modelTopology?.node || !Array.isArray(json.weightsManifest)) throw new Error(`${jsonPath}: not a tfjs graph model`);
  const root = dirname(resolve(jsonPath));
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const file = resolve(root, p);
      if (!file.startsWith(root + sep)) throw new Error(`${jsonPath}: weight file ${p} is outside the model folder`);
      shards.push(await readFile(file));
    }
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return {
    topology: json.modelTopology,
    artifacts: {
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy ?? undefined,
      signature: json.signature,
    },
  };
}

export async function openGraphModel(a: GraphArtifacts): Promise<GraphModel> {
  return loadGraphModel({ load: async () => a.artifacts });
}
