import { z } from 'zod';
import { priorMapSchema } from '../ssd/config.js';

/** The detector config's `slidingWindow` section. */
export const slidingWindowConfigSchema = z.object({
  maps: z.array(priorMapSchema).min(1),
  /** Window voting (voting.ts): overlap for a window to vote on another's box; 0 = off. */
  voteIou: z.number().min(0).max(1).default(0),
});
export type SlidingWindowConfig = z.infer<typeof slidingWindowConfigSchema>;
