// Loader for 'detector/nanodet' model folders: a tfjs graph model of NanoDet plus the settings upstream
// trained and evaluated it with, validated here so a wrong manifest fails at load, not per request.
import { resolve, sep } from 'node:path';
import { z } from 'zod';
import type { Manifest } from '../../runtime/manifest.js';
import type { ModelLoader } from '../../runtime/models.js';
import { openGraphModel, readGraphArtifacts } from './graph.js';
import { COCO_LABELS } from './labels.js';
import { NanoDetDetector } from './model.js';
import { NanoDetNetwork } from './network.js';

const triple = z.tuple([z.number(), z.number(), z.number()]);

export const nanodetConfigSchema = z.object({
  architecture: z.literal('nanodet'),
  /** The tfjs graph model (model.json), relative to the model folder. */
  graph: z.string().min(1),
  /** The graph's own square input side (its signature pins it). */
  graphSize: z.number().int().positive().multipleOf(32).default(416),
  /** 'kestrel': kestrel's channels-last forward pass (any size in `sizes`, batches); 'graph': tfjs's graph executor (reference). */
  engine: z.enum(['kestrel', 'graph']).default('kestrel'),
  /** Square input sides a request may choose (speed modes). */
  sizes: z.array(z.number().int().min(64).max(1024).multipleOf(32)).min(1).default([320, 416, 512]),
  /** Per-channel mean and std in the network's channel order (BGR), on 0..255 pixels. */
  mean: triple.default([103.53, 116.28, 123.675]),
  std: triple.default([57.375, 57.12, 58.395]),
  regMax: z.number().int().positive().default(10),
  strides: z.tuple([z.number().int(), z.number().int(), z.number().int()]).default([8, 16, 32]),
  centerOffset: z.number().min(0).max(1).default(0.5),
  topKPerLevel: z.number().int().positive().default(1000),
  scoreThreshold: z.number().gt(0).lt(1).default(0.35),
  iouThreshold: z.number().gt(0).lte(1).default(0.6),
  /** Letterbox padding value (upstream pads with black). */
  letterboxFill: z.number().int().min(0).max(255).default(0),
});

export type NanoDetConfig = z.infer<typeof nanodetConfigSchema>;

export const loadNanoDet: ModelLoader = async (manifest: Manifest, dir: string) => {
  const parsed = nanodetConfigSchema.safeParse(manifest.config);
  if (!parsed.success) throw new Error(`${manifest.name}: invalid nanodet config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const cfg = parsed.data;
  const labels = manifest.labels ?? COCO_LABELS;
  const root = resolve(dir);
  const file = resolve(root, cfg.graph);
  if (!file.startsWith(root + sep)) throw new Error(`${manifest.name}: ${cfg.graph} is outside the model folder`);
  const artifacts = await readGraphArtifacts(file);
  const graph = await openGraphModel(artifacts);
  try {
    const network = cfg.engine === 'kestrel' ? new NanoDetNetwork(artifacts.topology.node, graph.weights, labels.length, 4 * (cfg.regMax + 1), cfg.graphSize) : undefined;
    return new NanoDetDetector(manifest, cfg, graph, network, labels);
  } catch (err) {
    graph.dispose();
    throw err;
  }
};
