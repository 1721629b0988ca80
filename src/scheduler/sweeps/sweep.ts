/** One periodic process of the scheduler role. */
export interface Sweep {
  name: string;
  run(): Promise<void>;
}
