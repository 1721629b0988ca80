import type http from 'node:http';
import type { GpuInfo, RemoteExecutorStatus } from '../../core/bus-channels';
import { exchange } from './http-exchange';

type Found = Omit<RemoteExecutorStatus, 'url' | 'protocol' | 'checkedAt'>;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The `Gpu` objects of a status answer; anything else in the list is dropped. */
function gpusOf(v: unknown): GpuInfo[] {
  if (!Array.isArray(v)) return [];
  return v
    .filter((g): g is Record<string, unknown> => !!g && typeof g === 'object')
    .map((g) => ({
      index: num(g.index) ?? 0,
      name: typeof g.name === 'string' ? g.name : 'unknown',
      memoryTotalMiB: num(g.memoryTotalMiB) ?? 0,
      memoryUsedMiB: num(g.memoryUsedMiB),
      utilizationPercent: num(g.utilizationPercent),
    }));
}

const down = (error: string, reachable: boolean): Found => ({
  reachable,
  healthy: false,
  gpus: [],
  codeVersion: null,
  executors: [],
  error,
});

/**
 * One status check. `sdk`: GET {url}/_marie/status → `{executors, gpus, healthy,
 * codeVersion}`. `marie` has no status route: healthy while it answers anything at {url}/.
 */
export async function readStatus(
  agent: http.Agent,
  url: string,
  protocol: 'sdk' | 'marie',
  timeoutMs: number,
): Promise<Found> {
  let answer;
  try {
    answer = await exchange(agent, {
      method: 'GET',
      url: new URL(protocol === 'sdk' ? `${url}/_marie/status` : `${url}/`),
      timeoutMs,
    });
  } catch (err) {
    return down(err instanceof Error ? err.message : String(err), false);
  }
  if (protocol === 'marie')
    return { reachable: true, healthy: true, gpus: [], codeVersion: null, executors: [], error: null };
  if (answer.status !== 200) return down(`GET /_marie/status answered ${answer.status}`, true);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(answer.text) as Record<string, unknown>;
    if (!body || typeof body !== 'object') throw new Error('not an object');
  } catch {
    return down('GET /_marie/status did not answer a JSON object', true);
  }
  const healthy = body.healthy === true;
  return {
    reachable: true,
    healthy,
    gpus: gpusOf(body.gpus),
    codeVersion: typeof body.codeVersion === 'string' ? body.codeVersion : null,
    executors: Array.isArray(body.executors) ? body.executors.filter((e): e is string => typeof e === 'string') : [],
    error: healthy ? null : body.draining === true ? 'it is shutting down (draining)' : 'it says it is unhealthy',
  };
}
