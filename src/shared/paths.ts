/**
 * A path with its citizen ids (a segment of 6 to 12 digits, as in `/citizens/1032236578`) written
 * as `:digits`: paths are logged and traced, citizen ids never are.
 */
export function maskCitizenIds(path: string): string {
  return path.replace(/(?<=\/)\d{6,12}(?=\/|$)/g, ':digits');
}
