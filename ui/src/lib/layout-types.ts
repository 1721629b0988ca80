/** What the layout worker is asked and answers (ui/src/lib/layout.worker.ts). */
export interface LayoutRequest {
  id: number;
  /** `level`: the layer a node must sit in (ELK partitions), edges or none. */
  nodes: Array<{ id: string; width: number; height: number; level?: number }>;
  edges: Array<{ id: string; source: string; target: string }>;
  direction: 'RIGHT' | 'DOWN';
}

export interface LayoutResponse {
  id: number;
  positions: Record<string, { x: number; y: number }>;
  ms: number;
  error?: string;
}
