import { loadWorkerExecutorConfig, type LoadExecutorConfigOptions } from '../sdk/executor-config';
import type { ExecutorInvoker } from '../core/executor-call';
import { registerRemoteExecutorType } from '../worker/remote';

/**
 * The executors of a worker's YAML file: the SDK's classes and the worker's built-in
 * types (`jtype: RemoteExecutor`), which the SDK's loader learns of here.
 */
export async function loadWorkerInvokers(file: string, opts: LoadExecutorConfigOptions): Promise<ExecutorInvoker[]> {
  registerRemoteExecutorType();
  return loadWorkerExecutorConfig(file, opts);
}
