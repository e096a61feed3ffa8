/** `npm run schema`: writes config.schema.json from the config's zod schema (daemon/config-json-schema.ts). */
import { writeFileSync } from 'node:fs';
import { CONFIG_SCHEMA_FILE, configJsonSchemaText } from '../daemon/config-json-schema.ts';

const path = new URL(`../${CONFIG_SCHEMA_FILE}`, import.meta.url);
writeFileSync(path, configJsonSchemaText());
console.log(`wrote ${path.pathname}`);
