// models/<name>/manifest.json: the contract between training (which writes it) and serving (which reads it).
import { z } from 'zod';

export const MODEL_KINDS = ['detector', 'char-rnn', 'forecaster'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export const manifestSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, . _ -'),
  kind: z.enum(MODEL_KINDS),
  version: z.string().min(1),
  description: z.string().optional(),
  /** The model served when a request names none, per kind. */
  default: z.boolean().default(false),
  /** What the model consumes: image size for detectors, window/horizon for forecasters, vocabulary for char-rnn. */
  input: z
    .object({
      width: z.number().int().positive().optional(),
      height: z.number().int().positive().optional(),
      channels: z.number().int().positive().optional(),
      window: z.number().int().positive().optional(),
      horizon: z.number().int().positive().optional(),
      vocabulary: z.string().optional(),
    })
    .default({}),
  labels: z.array(z.string()).optional(),
  /** Detector heads available in this model, first is the default. */
  heads: z.array(z.string()).min(1).optional(),
  /** Weight and data files, relative to the model folder; each must exist. */
  files: z.array(z.string().min(1)).min(1),
  /** Kind-specific settings, validated by the kind's own loader. */
  config: z.record(z.string(), z.unknown()).default({}),
});

export type Manifest = z.infer<typeof manifestSchema>;
