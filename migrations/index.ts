import { Foundation1763840000000 } from './1763840000000-foundation';
import { Assets1763841000000 } from './1763841000000-assets';

/** Every migration, oldest first. Never edit one that has landed: add a new one. */
export const MIGRATIONS = [Foundation1763840000000, Assets1763841000000];
