/** Path checks shared by the places that confine a file to folders (worker files, the playbook folder). */
import { sep } from 'node:path';

/** Whether `path` is `dir` or inside it (both absolute and normalized; real paths to defeat symlinks). */
export const isWithin = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
