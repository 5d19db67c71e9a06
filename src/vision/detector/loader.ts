// Loader for 'detector/kestrel' model folders: manifest config (validated) + model.json/weights.bin.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../../runtime/manifest.js';
import type { ModelLoader } from '../../runtime/models.js';
import { tf } from '../../runtime/backend.js';
import { detectorConfigSchema, tapChannels } from './config.js';
import { KestrelDetector } from './model.js';
import { diskLoader } from './weights-io.js';
import { outputLayout } from './network.js';
import { RegionStage } from '../region-classifier/stage.js';
import { backboneDir, NanoDetFeatures } from '../nanodet/features.js';
// Registers the custom conv layer class so model.json can be deserialised.
import '../backbone/fast-conv.js';

export const loadKestrelDetector: ModelLoader = async (manifest: Manifest, dir: string) => {
  const parsed = detectorConfigSchema.safeParse(manifest.config);
  if (!parsed.success) throw new Error(`${manifest.name}: invalid detector config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const cfg = parsed.data;
  if (!existsSync(join(dir, 'model.json'))) throw new Error(`${manifest.name}: model.json missing in ${dir}`);
  const net = await tf.loadLayersModel(diskLoader(dir));
  const expected = outputLayout(cfg).map((o) => o.name);
  const got = net.outputNames;
  if (expected.join(',') !== got.join(',')) {
    net.dispose();
    throw new Error(`${manifest.name}: network outputs [${got.join(', ')}] do not match the config's heads [${expected.join(', ')}]`);
  }
  if (manifest.labels && manifest.labels.length !== cfg.numClasses) {
    net.dispose();
    throw new Error(`${manifest.name}: ${manifest.labels.length} labels but the network has ${cfg.numClasses} classes`);
  }
  let stage: RegionStage | undefined;
  if (cfg.regionClassifier) {
    try {
      stage = await RegionStage.load(dir, cfg.regionClassifier, cfg.numClasses);
    } catch (e) {
      net.dispose();
      throw new Error(`${manifest.name}: region classifier in ${cfg.regionClassifier.dir}/: ${(e as Error).message}`);
    }
  }
  let backbone: NanoDetFeatures | undefined;
  if (cfg.backbone) {
    try {
      backbone = await NanoDetFeatures.open(backboneDir(cfg.backbone.model, dir), cfg.backbone.tap, (cfg.backbone.tuned ?? []).map((t) => t.stride));
      const want = tapChannels(cfg.backbone);
      if (backbone.channels.some((c, i) => c !== want[i])) throw new Error(`its ${cfg.backbone.tap} features have ${backbone.channels.join('/')} channels, the config says ${want.join('/')}`);
    } catch (e) {
      backbone?.dispose();
      net.dispose();
      stage?.dispose();
      throw new Error(`${manifest.name}: backbone ${cfg.backbone.model}: ${(e as Error).message}`);
    }
  }
  return new KestrelDetector(manifest, cfg, net, stage, backbone);
};
