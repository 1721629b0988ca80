import { registerExecutorType } from '../../sdk/executor-config';
import { RemoteExecutor, remoteWithSchema, type RemoteWith } from './remote-executor';

export { RemoteExecutor, remoteWithSchema, type RemoteWith } from './remote-executor';
export { RemoteCallError } from './http-exchange';

/** Make `jtype: RemoteExecutor` known to worker configs (sdk/ cannot import the worker: it is told). */
export function registerRemoteExecutorType(): void {
  registerExecutorType('RemoteExecutor', {
    withSchema: remoteWithSchema,
    create: (e) =>
      new RemoteExecutor({
        name: e.name,
        with: e.with as RemoteWith,
        concurrency: e.concurrency,
        requiresGpu: e.requiresGpu,
      }),
  });
}
