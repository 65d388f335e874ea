// Waiting on the host's state (processes gone, cgroups removed), which
// changes on its own time: poll it, never sleep a fixed time and hope.

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `predicate` held within `ms`, checked every `stepMs`, and once more at the end. */
export async function until(predicate: () => boolean, ms: number, stepMs = 100): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += stepMs) {
    if (predicate()) return true;
    await sleep(stepMs);
  }
  return predicate();
}
