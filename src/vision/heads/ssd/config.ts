import { z } from 'zod';

/** Default boxes of one feature map; the sliding-window head lays out its windows the same way. */
export const priorMapSchema = z.object({ stride: z.number().int().positive(), sizes: z.array(z.number().positive()).min(1), aspects: z.array(z.number().positive()).min(1) });

/** The detector config's `ssd` section. */
export const ssdConfigSchema = z.object({ maps: z.array(priorMapSchema).min(1), variances: z.tuple([z.number().positive(), z.number().positive()]) });
export type SsdConfig = z.infer<typeof ssdConfigSchema>;
