/** Command-line options of the bench scripts. */

/** The number given as `--<name>=N` on the command line, or `dflt`. */
export function numberArg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
}
