/** An issue as Standard Schema v1 reports it. */
export interface SchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<SchemaIssue> };

/**
 * The part of the Standard Schema v1 interface (https://standardschema.dev) the client uses.
 * zod, valibot, arktype and others implement it; no library is needed at runtime.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** A runtime check for a payload of type T: a Standard Schema, or a predicate (a type guard, ideally). */
export type Validator<T> = StandardSchemaV1<unknown, T> | ((data: unknown) => data is T) | ((data: unknown) => boolean);

export type Checked = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly issues: readonly SchemaIssue[] };

const rejected: Checked = { ok: false, issues: [{ message: 'rejected by the validator' }] };

const fromStandard = (result: StandardResult<unknown>): Checked =>
  result.issues ? { ok: false, issues: result.issues } : { ok: true, value: result.value };

/** Runs a validator; a throwing validator counts as a rejection. Asynchronous schemas give a promise. */
export function check(validator: Validator<unknown>, data: unknown): Checked | Promise<Checked> {
  try {
    // arktype's schemas are callable and carry `~standard`: look for the interface first.
    if ('~standard' in validator) {
      const result = validator['~standard'].validate(data);
      return result instanceof Promise ? result.then(fromStandard, () => rejected) : fromStandard(result);
    }
    return validator(data) ? { ok: true, value: data } : rejected;
  } catch {
    return rejected;
  }
}
