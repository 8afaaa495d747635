#!/usr/bin/env node
// Validate Cypher files with Neo4j's own parser (@neo4j-cypher/language-support, the library behind Neo4j's
// editors and VS Code extension).
//
//   node lint.cjs [--schema schema.json] FILE...
//
// Prints one JSON object per diagnostic ({file, line, column, severity, message}) and a summary line; exits 1 if
// any file has a diagnostic. "Parameter $x is not defined" is ignored: parameters are supplied at run time.
// schema.json (optional) is a DbSchema: {labels, relationshipTypes, propertyKeys}; with it, unknown labels, types
// and properties are reported too.
'use strict';
const fs = require('fs');
let ls;
try {
  ls = require('@neo4j-cypher/language-support');
} catch (err) {
  console.error('cannot load @neo4j-cypher/language-support: install it with npm (see README) -- ' + err.message);
  process.exit(2);
}

const args = process.argv.slice(2);
let schema = {};
const schemaAt = args.indexOf('--schema');
if (schemaAt >= 0) {
  schema = JSON.parse(fs.readFileSync(args[schemaAt + 1], 'utf8'));
  args.splice(schemaAt, 2);
}
if (args.length === 0) {
  console.error('usage: node lint.cjs [--schema schema.json] FILE...');
  process.exit(2);
}

let problems = 0;
for (const file of args) {
  const text = fs.readFileSync(file, 'utf8');
  const { diagnostics } = ls.lintCypherQuery(text, schema);
  for (const d of diagnostics.filter(ls.isNotParamError)) {
    problems += 1;
    console.log(JSON.stringify({
      file,
      line: d.range.start.line + 1,
      column: d.range.start.character + 1,
      severity: d.severity === 1 ? 'error' : 'warning',
      message: d.message,
    }));
  }
}
console.log(`checked ${args.length} files, ${problems} problems`);
process.exit(problems ? 1 : 0);
