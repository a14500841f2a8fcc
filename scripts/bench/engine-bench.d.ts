/** Median, min and max of a sample. */
export declare function stats(a: number[]): {
  median: number;
  min: number;
  max: number;
  runs: number;
};
