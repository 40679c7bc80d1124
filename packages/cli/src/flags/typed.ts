/**
 * The options a command's flag parser must fill: every field of the component's options except
 * those no flag sets (in-process objects such as a logger or a bucket). Listing every key, even as
 * `undefined`, is the point: a new option without a flag fails to compile until it gets one or is
 * added to `NotFlags` on purpose.
 */
export type FlagsFor<Options, NotFlags extends keyof Options = never> = {
  [K in Exclude<keyof Options, NotFlags | SharedServingKey>]-?: Options[K] | undefined;
} & { [K in Extract<Exclude<keyof Options, NotFlags>, SharedServingKey>]?: Options[K] | undefined };

/**
 * Serving options every command gets from the shared serving flags (`servingFromFlags`:
 * --http.config, --request.logging-config) and that commands whose component does not take them
 * yet may leave out: the flags' preAction hook refuses them there instead.
 */
export type SharedServingKey = 'webConfig' | 'requestLogging';

/** Drops the `undefined` fields of a parsed flag table, so component defaults apply to them. */
export function definedOnly<T extends object>(flags: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
