/**
 * The health record's compiled check as one function, for the agent's publish path (health-encode.ts).
 * In the agent bundle (build/build.mjs) this module is replaced by ajv *standalone* code generated at build time
 * (build/health-check-standalone.ts) from the same JSON Schema as health-validator.ts (`healthJsonSchema()`, from
 * the zod schema in health.ts, the single source of truth): the running agent holds one plain function, neither the
 * ajv compiler nor the code it generates at run time. From the sources (development, tests) this module compiles the
 * check at first use, exactly as health-validator.ts does. test/unit/health-check-standalone.test.ts proves the
 * generated function, the run-time one and zod give the same verdict on a corpus.
 */
import { healthValidator } from './health-validator.ts';

export function healthCheck(value: unknown): boolean {
  return healthValidator()(value) === true;
}
