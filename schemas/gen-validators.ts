/**
 * Build step (`make build`, after tsc): ajv's standalone code for each schema, written beside the
 * compiled config module (dist/src/config/generated/<schema file>.js). validate.ts uses it when its
 * key matches the schema, so `knockctl check-config` starts without ajv's compiler.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import standaloneCode from 'ajv/dist/standalone';
import configSchema from './config.schema.json';
import clientSchema from './client.schema.json';
import { generatedName, newAjv, schemaKey } from '../src/config/validate';

const out = join(__dirname, '../src/config/generated');
mkdirSync(out, { recursive: true });
for (const schema of [configSchema, clientSchema]) {
  const name = generatedName(schema);
  if (!name) throw new Error('a schema without $id');
  const ajv = newAjv({ code: { source: true } });
  const code = standaloneCode(ajv, ajv.compile(schema));
  writeFileSync(join(out, `${name}.js`), `${code}\nmodule.exports.key = ${JSON.stringify(schemaKey(schema))};\n`);
}
