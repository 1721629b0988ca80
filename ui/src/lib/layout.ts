import type { LayoutRequest, LayoutResponse } from './layout-types';

let worker: Worker | null = null;
let seq = 0;
const pending = new Map<number, (r: LayoutResponse) => void>();

/** Lay a graph out in the Web Worker (elkjs); one worker for the page, requests by id. */
export function layout(req: Omit<LayoutRequest, 'id'>): Promise<LayoutResponse> {
  if (!worker) {
    worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module', name: 'layout' });
    worker.onmessage = (ev: MessageEvent<LayoutResponse>) => {
      pending.get(ev.data.id)?.(ev.data);
      pending.delete(ev.data.id);
    };
  }
  const id = ++seq;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker?.postMessage({ ...req, id } satisfies LayoutRequest);
  });
}
