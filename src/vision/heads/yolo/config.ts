import { z } from 'zod';

/** The detector config's `yolo` section: per grid, its stride and its anchors' sizes. */
export const yoloConfigSchema = z.object({ scales: z.array(z.object({ stride: z.number().int().positive(), anchors: z.array(z.number().positive()).min(2) })).min(1) });
export type YoloConfig = z.infer<typeof yoloConfigSchema>;
