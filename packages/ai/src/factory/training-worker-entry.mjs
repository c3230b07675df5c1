// Worker threads do not inherit the main thread's TypeScript loader: register it, then load the
// worker, which is TypeScript like the rest of the sources.
import { register } from 'tsx/esm/api';

register();
await import('./training-worker.ts');
