// How a step's running time grows with its input, told apart from noise on a busy machine.
//
// A check that is linear takes about 16 times as long for 16 times the input; one that compares
// every item with every earlier one takes about 256 times as long. Sizes 16 times apart keep those
// two far from each other, so a bound of 64 fails only for a quadratic step, not for a garbage
// collection or a CI neighbour landing in one run (each size is timed five times, fastest kept).

export const SIZE_FACTOR = 16;
export const LINEAR_BOUND = 64;

export interface Growth {
  readonly smallMs: number;
  readonly largeMs: number;
  readonly factor: number;
  readonly summary: string;
}

export function measureGrowth<Input>(options: { readonly small: number; readonly prepare: (size: number) => Input; readonly run: (input: Input) => void; readonly label: string }): Growth {
  const fastest = (size: number): number => {
    const input = options.prepare(size);
    options.run(input); // warm-up: the first run also compiles the code it reaches
    return Math.min(...[0, 1, 2, 3, 4].map(() => {
      const started = performance.now();
      options.run(input);
      return performance.now() - started;
    }));
  };
  const small = options.small;
  const large = small * SIZE_FACTOR;
  const smallMs = fastest(small);
  const largeMs = fastest(large);
  const factor = largeMs / Math.max(smallMs, 0.01);
  return {
    smallMs,
    largeMs,
    factor,
    summary: `${options.label}: ${small.toLocaleString('en-US')} in ${smallMs.toFixed(1)} ms, ${large.toLocaleString('en-US')} in ${largeMs.toFixed(1)} ms (×${factor.toFixed(1)}; linear ≈ ×${SIZE_FACTOR}, quadratic ≈ ×${SIZE_FACTOR ** 2})`,
  };
}
